"""The fake Ollama's model store: installed models, the registry they can be pulled from, and
the metadata Ollama reports for them (/api/tags, /api/show)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

from .generation import DEFAULT_ANSWER, DEFAULT_REASONING, Script

STYLES = ("native", "tags", "openerless", "plain")


@dataclass
class FakeModel:
    """An installed model and how it answers.

    style decides where the reasoning goes:
      native      message.thinking when thinking is on (think:true, or think omitted on 0.12.4+);
                  otherwise (think:false, think omitted before 0.12.4, server < 0.9.0) the
                  reasoning stays in content as raw <think>...</think>
      tags        always raw <think>...</think> in content, tags cut mid-word across chunks
      openerless  content is reasoning, then </think>, then the answer (no opening tag)
      plain       just the answer
    """

    name: str
    size: int = 4_683_075_271
    parameter_size: str = "7.6B"
    quantization: str = "Q4_K_M"
    family: str = "qwen2"
    capabilities: list[str] = field(default_factory=lambda: ["completion", "thinking"])
    context_length: int = 131_072
    reasoning: Script = DEFAULT_REASONING
    answer: Script = DEFAULT_ANSWER
    style: str = "native"
    # Tool calls it makes, one request each, when a request offers tools: (name, arguments).
    # After the last result it thinks again and answers with what the tool said.
    tool_plan: list[tuple[str, dict]] = field(default_factory=list)
    modified_at: datetime = field(default_factory=lambda: datetime.now().astimezone())

    def __post_init__(self) -> None:
        if ":" not in self.name.rsplit("/", 1)[-1]:
            self.name += ":latest"
        if self.style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}, not {self.style!r}")

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()

    @property
    def thinks(self) -> bool:
        return "thinking" in self.capabilities

    def details(self) -> dict:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization,
        }


def default_models() -> dict[str, FakeModel]:
    models = [
        FakeModel("deepseek-r1:8b", size=5_225_376_047, parameter_size="8.2B", family="qwen3"),
        FakeModel("deepseek-r1:1.5b", size=1_117_322_768, parameter_size="1.8B"),
        FakeModel(
            "llama3.2:latest", size=2_019_393_189, parameter_size="3.2B", family="llama",
            capabilities=["completion", "tools"], style="plain",
        ),
        FakeModel("r1-legacy:7b", capabilities=["completion"], style="tags"),
        FakeModel("r1-openerless:7b", style="openerless"),
    ]
    return {m.name: m for m in models}


# Layer sizes as the library serves them: weights, license, template, params, config.
def default_registry() -> dict[str, list[int]]:
    return {
        "deepseek-r1:1.5b": [1_117_320_736, 1_065, 387, 148, 487],
        "deepseek-r1:7b": [4_683_073_184, 1_065, 387, 148, 488],
        "deepseek-r1:8b": [5_225_374_656, 1_065, 11_407, 148, 487],
        "deepseek-r1:latest": [5_225_374_656, 1_065, 11_407, 148, 487],
        "deepseek-r1:14b": [8_988_110_464, 1_065, 387, 148, 488],
        "deepseek-r1:32b": [19_851_336_256, 1_065, 387, 148, 488],
        "qwen3:8b": [5_225_374_656, 11_338, 1_492, 120, 487],
        "llama3.2:latest": [2_019_377_376, 1_429, 7_711, 6_016, 96, 561],
    }


# What a model pulled from the fake registry looks like once installed.
_LIBRARY = {
    "deepseek-r1:1.5b": dict(parameter_size="1.8B"),
    "deepseek-r1:7b": dict(parameter_size="7.6B"),
    "deepseek-r1:8b": dict(parameter_size="8.2B", family="qwen3"),
    "deepseek-r1:latest": dict(parameter_size="8.2B", family="qwen3"),
    "deepseek-r1:14b": dict(parameter_size="14.8B"),
    "deepseek-r1:32b": dict(parameter_size="32.8B"),
    "qwen3:8b": dict(parameter_size="8.2B", family="qwen3"),
    "llama3.2:latest": dict(
        parameter_size="3.2B", family="llama", capabilities=["completion", "tools"], style="plain"
    ),
}


def pulled_model(name: str, layers: list[int]) -> FakeModel:
    traits = _LIBRARY.get(name, dict(capabilities=["completion"], style="plain"))
    return FakeModel(name, size=sum(layers), **traits)


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*(:[A-Za-z0-9_][A-Za-z0-9._-]*)?$")


def valid_name(name: object) -> bool:
    return isinstance(name, str) and len(name) < 350 and bool(_NAME.match(name))


def normalize(name: str) -> str:
    """Ollama's lookup key: registry prefix dropped, ":latest" implied, case-insensitive."""
    name = name.strip().lower()
    for prefix in ("registry.ollama.ai/library/", "registry.ollama.ai/", "library/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


def registry_name(name: str) -> str:
    """The fully qualified name older servers put in their errors."""
    short = normalize(name)
    return short if "/" in short else "registry.ollama.ai/library/" + short


def layer_digests(name: str, count: int) -> list[str]:
    return [hashlib.sha256(f"{normalize(name)}#{i}".encode()).hexdigest() for i in range(count)]


def parameter_count(parameter_size: str) -> int:
    scale = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
    try:
        return int(float(parameter_size[:-1]) * scale[parameter_size[-1].upper()])
    except (KeyError, ValueError, IndexError):
        return 0


_TEMPLATE_THINKING = (
    "{{- range $i, $_ := .Messages }}{{- if eq .Role \"user\" }}<｜User｜>{{ .Content }}"
    "{{- else if eq .Role \"assistant\" }}<｜Assistant｜>{{ .Content }}<｜end▁of▁sentence｜>"
    "{{- end }}{{- end }}<｜Assistant｜>{{- if and $.IsThinkSet (not $.Think) }}<think>\n\n</think>\n\n{{ end }}"
)
_TEMPLATE_PLAIN = "{{ if .System }}{{ .System }}{{ end }}{{ range .Messages }}{{ .Content }}{{ end }}"
_STOPS = ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>")
_PARAMETERS = "\n".join(f'stop{" " * 27}"{stop}"' for stop in _STOPS)


def show_info(model: FakeModel, with_capabilities: bool) -> dict:
    arch = model.family
    template = _TEMPLATE_THINKING if model.style != "plain" else _TEMPLATE_PLAIN
    info = {
        "license": "MIT License\n\nCopyright (c) 2023 DeepSeek",
        "modelfile": (
            '# Modelfile generated by "ollama show"\n'
            f"FROM /usr/share/ollama/.ollama/models/blobs/sha256-{model.digest}\n"
            f'TEMPLATE """{template}"""\n'
            + "".join(f'PARAMETER stop "{stop}"\n' for stop in _STOPS)
        ),
        "parameters": _PARAMETERS,
        "template": template,
        "details": model.details(),
        "model_info": {
            "general.architecture": arch,
            "general.basename": model.name.split(":")[0],
            "general.file_type": 15,
            "general.parameter_count": parameter_count(model.parameter_size),
            "general.quantization_version": 2,
            f"{arch}.attention.head_count": 32,
            f"{arch}.block_count": 36,
            f"{arch}.context_length": model.context_length,
            f"{arch}.embedding_length": 4096,
            "tokenizer.ggml.model": "gpt2",
            "tokenizer.ggml.tokens": None,
        },
        "modified_at": model.modified_at.isoformat(),
    }
    if with_capabilities:
        info["capabilities"] = list(model.capabilities)
    return info

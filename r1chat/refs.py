"""Model references across providers: ``MODEL@PROVIDER`` wherever a model is named.

``deepseek-r1:8b@ollama``, ``deepseek/deepseek-r1@openrouter``, ``deepseek-r1:32b@gpubox`` (a
second Ollama host configured as a provider of its own). A name splits at its last ``@`` only
when what follows is a configured provider, so a model whose own name holds an ``@`` stays whole;
a bare name belongs to the current provider.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A model on a provider. ``model`` may be empty: the provider's own default model
    (``-m @deepseek``), which whoever sends resolves."""

    model: str
    provider: str

    def __str__(self) -> str:
        return f"{self.model}@{self.provider}"


def parse_ref(text: str, providers: Collection[str], default: str) -> ModelRef:
    """``text`` as a reference: ``MODEL@PROVIDER`` when PROVIDER is one of ``providers``, else the
    whole text is a model of ``default``. Raises ValueError for a blank name."""
    text = text.strip()
    if not text:
        raise ValueError("A model name is empty: give MODEL or MODEL@PROVIDER.")
    model, at, provider = text.rpartition("@")
    if at and provider in providers:
        return ModelRef(model.strip(), provider)
    return ModelRef(text, default)


def parse_refs(texts: Collection[str], providers: Collection[str], default: str) -> list[ModelRef]:
    """Each of ``texts`` as a reference, in order, once each (a model named twice is run once)."""
    found: list[ModelRef] = []
    for text in texts:
        ref = parse_ref(text, providers, default)
        if ref not in found:
            found.append(ref)
    return found


__all__ = ["ModelRef", "parse_ref", "parse_refs"]

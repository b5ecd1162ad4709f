"""Every test runs with its own config and data directories and no provider variables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Tests press Ctrl+C (SIGINT) on the processes they start, as a terminal would. A run started in
# the background (`cmd &` in a script) has SIGINT ignored, and every child would inherit that.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

_VARIABLES = (
    "OLLAMA_HOST",
    "OLLAMA_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "R1CHAT_CONFIG",
    "R1CHAT_PROVIDER",
    "R1CHAT_MODEL",
    "R1CHAT_NUM_CTX",
    "NO_COLOR",
)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))  # crash logs, recovery files
    return home


@pytest.fixture
def data_dir(isolated_dirs: Path) -> Path:
    return isolated_dirs / "data" / "r1chat"


@pytest.fixture
def config_file(isolated_dirs: Path) -> Path:
    path = isolated_dirs / "config" / "r1chat" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "r1chat", *args]


@pytest.fixture
def run_cli():
    """Run ``r1chat`` as a real subprocess with the test's environment."""

    def run(*args: str, input: str | None = None, timeout: float = 60, env: dict | None = None):
        stdin = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
        return subprocess.run(
            cli_command(*args),
            **stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            env={**os.environ, **(env or {})},
        )

    return run


# A short, recognisable trace and answer for the fake Ollama's models.
REASONING = "Okay, 17 * 23. 17 * 20 = 340, 17 * 3 = 51, so 391."
ANSWER = "17 * 23 = **391**."


@pytest.fixture
def ollama():
    """The fake Ollama on a free port, every model answering REASONING then ANSWER."""
    from tests.servers import FakeOllama

    with FakeOllama() as server:
        for model in server.models.values():
            model.reasoning, model.answer = REASONING, ANSWER
        yield server


@pytest.fixture
def vision_ollama():
    """The fake Ollama with a vision model (qwen2.5vl:7b) beside the text-only deepseek-r1:8b."""
    from tests.servers import FakeOllama
    from tests.servers.ollama_models import FakeModel

    models = {
        "deepseek-r1:8b": FakeModel("deepseek-r1:8b", reasoning=REASONING, answer=ANSWER),
        "qwen2.5vl:7b": FakeModel("qwen2.5vl:7b", capabilities=["completion", "vision"], style="plain", answer=ANSWER),
    }
    with FakeOllama(models=models) as server:
        yield server


@pytest.fixture
async def ollama_backend(ollama):
    from r1chat.backends.ollama import OllamaBackend

    backend = OllamaBackend(ollama.url)
    yield backend
    await backend.aclose()

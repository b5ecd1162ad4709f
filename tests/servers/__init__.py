"""Protocol-faithful fake servers for tests: real HTTP on 127.0.0.1, scripted models, faults.

    from tests.servers import FakeOllama, FakeOpenAI

Names are imported on first use, so `python -m tests.servers.ollama` runs its module only once.
"""

from importlib import import_module

_HOMES = {
    "FakeOllama": "ollama",
    "OllamaFault": "ollama_chat",
    "FakeModel": "ollama_models",
    "FakeOpenAI": "openai",
    "OpenAIFault": "openai",
    "RecordedRequest": "http",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_HOMES[name]}", __name__), name)

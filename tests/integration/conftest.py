"""The integration tier: r1chat against a real llama.cpp server running a real (tiny) model.

Skipped unless ``R1CHAT_INTEGRATION=1`` (``tests/run.sh`` sets it, and installs the ``integration``
extra; ``R1CHAT_SKIP_INTEGRATION=1 bash tests/run.sh`` leaves the tier out). When the tier is on,
a missing server package or model is an error, not a skip: CI must not pass by running nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.integration.llama_server import MODEL_ID, LlamaServer, SetupError, model_file

ENABLED = os.environ.get("R1CHAT_INTEGRATION") == "1"
PROVIDER = "llama"
ANSWER_TOKENS = 32

# A GBNF grammar (llama-cpp-python's server takes one as ``grammar`` in a chat request) that makes
# any model write an R1-style trace in tags and then an answer. Bounded, so the model must stop; one
# character set, so a leaked tag fragment shows in either part.
TRACE_CHARS = "a-zA-Z ,."
THINK_GRAMMAR = f"""\
root ::= "<think>" thought "</think>" answer
thought ::= [{TRACE_CHARS}]{{20,120}}
answer ::= [{TRACE_CHARS}]{{5,60}}
"""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ENABLED:
        return
    skip = pytest.mark.skip(reason="integration tier: set R1CHAT_INTEGRATION=1 (bash tests/run.sh does)")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def llama(tmp_path_factory: pytest.TempPathFactory):
    """The server, started once for the whole tier."""
    try:
        server = LlamaServer(model_file(), tmp_path_factory.mktemp("llama") / "server.log")
    except SetupError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        server.wait_until_ready()
    except SetupError as exc:
        server.stop()
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


def provider_config(url: str, extra_body: dict[str, object]) -> str:
    """The config a user would write for a local llama.cpp server."""
    lines = [
        f"provider = {json.dumps(PROVIDER)}",
        # Greedy decoding: the tiny model answers the same way on every run.
        "temperature = 0",
        "",
        f"[providers.{PROVIDER}]",
        'kind = "openai"',
        f"base_url = {json.dumps(url)}",
        f"model = {json.dumps(MODEL_ID)}",
        "",
        f"[providers.{PROVIDER}.extra_body]",
    ]
    # Strings, numbers and booleans only: json.dumps writes those as valid TOML.
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra_body.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def use_llama(llama: LlamaServer, config_file: Path):
    """Point r1chat at the server; call again with ``extra_body`` options to change them."""

    def write(**extra_body: object) -> Path:
        # Gemma 3 270M is a base model: it rarely stops by itself, so every request is capped.
        config_file.write_text(provider_config(llama.url, {"max_tokens": ANSWER_TOKENS, **extra_body}), "utf-8")
        return config_file

    write()
    return write

"""A tool call in a real terminal: the fake Ollama plans it, the FastMCP test server (over stdio,
started by r1chat from the config) runs it once the person allows it."""

from __future__ import annotations

import json
import sys

import pytest

from tests.e2e.terminal import Terminal, needs_tmux, terminal_env
from tests.servers.ollama_models import FakeModel

pytestmark = needs_tmux
pytest.importorskip("mcp")

MODEL = "qwen3-tools:8b"


@pytest.fixture
def tool_chat(ollama, config_file):
    ollama.models[MODEL] = FakeModel(
        MODEL, capabilities=["completion", "tools", "thinking"], tool_plan=[("add", {"a": 2, "b": 40})]
    )
    config_file.write_text(
        "[tools]\nstart_wait = 30\n\n"  # a loaded machine starts Python slowly; the wait ends when it is up
        "[mcp.servers.probe]\n"
        f"command = {json.dumps(sys.executable)}\n"
        'args = ["-m", "tests.servers.mcp_tools"]\n'
    )
    term = Terminal([sys.executable, "-m", "r1chat", "--host", ollama.url, "-m", MODEL], terminal_env({}),
                    size=(100, 30))
    try:
        term.wait_for("connected", timeout=20)
        yield term
    finally:
        term.close()


def test_a_tool_call_is_asked_about_then_runs_and_shows_between_the_traces(tool_chat, ollama):
    term = tool_chat
    assert "⚙ tools" in term.screen()  # the status bar: tools are on, a server is configured
    term.type("What is 2 + 40?")
    term.keys("Enter")
    question = term.wait_for("Allow a tool call?", timeout=40)
    assert "⚙ probe.add" in question and '"a": 2,' in question and '"b": 40' in question
    assert "Allow once" in question and "Deny" in question
    term.keys("y")
    screen = term.wait_for("The tool said: 42", timeout=30)
    assert "Allow a tool call?" not in screen
    call = next(line for line in screen.splitlines() if "⚙ probe.add" in line)
    assert "▶ ⚙ probe.add(a=2, b=40) · " in call and call.rstrip().endswith("· ok"), call
    lines = screen.splitlines()
    order = [i for i, line in enumerate(lines) if "Thought for" in line or "⚙ probe.add" in line]
    assert [("⚙" in lines[i]) for i in order] == [False, True, False], screen  # trace → call → trace
    requests = [r.json for r in ollama.requests if r.path == "/api/chat" and r.json.get("messages")]
    sent = requests[-1]["messages"][-1]
    assert (sent["role"], sent["content"]) == ("tool", "42")  # the tool's answer went back to the model

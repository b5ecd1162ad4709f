"""Models in a real terminal: switching with ctrl+o mid-conversation, pulling with progress."""

from __future__ import annotations

import re
import sys
import time

import pytest

from r1chat.store import Store, default_path
from tests.e2e.terminal import Terminal, needs_tmux, terminal_env

pytestmark = needs_tmux


@pytest.fixture
def term(ollama):
    terminal = Terminal(
        [sys.executable, "-m", "r1chat", "--host", ollama.url, "-m", "deepseek-r1:8b"], terminal_env({}), size=(120, 40)
    )
    terminal.wait_for("connected", timeout=20)
    yield terminal
    terminal.close()


def chat_models(server) -> list[str]:
    return [r.json["model"] for r in server.requests if r.path == "/api/chat" and r.json.get("messages")]


def test_ctrl_o_switches_the_model_mid_conversation(term, ollama):
    term.type("What is 17 * 23?")
    term.keys("Enter")
    term.wait_for("✓ ", timeout=20)

    term.keys("C-o")
    picker = term.wait_for("5 models")
    assert "deepseek-r1:1.5b" in picker and "llama3.2:latest" in picker
    term.type("1.5b")
    filtered = term.wait_for("1 of 5 models")
    assert "llama3.2" not in filtered
    term.keys("Enter")
    term.wait_for_gone("1 of 5 models")
    assert "deepseek-r1:1.5b" in term.wait_for("Next answers come from")

    term.type("And 18 * 23?")
    term.keys("Enter")
    deadline = time.monotonic() + 20
    while term.screen().count("Thought for") < 2:  # the second turn's trace has settled
        assert time.monotonic() < deadline, term.screen()
        time.sleep(0.05)
    term.wait_for("✓ ")
    assert chat_models(ollama) == ["deepseek-r1:8b", "deepseek-r1:1.5b"]
    store = Store(default_path())
    try:
        messages = store.load_conversation(store.latest_conversation_id()).messages
    finally:
        store.close()
    answers = [m.model for m in messages if m.role.value == "assistant"]
    assert answers == ["deepseek-r1:8b", "deepseek-r1:1.5b"]


def test_a_pull_shows_its_progress_then_the_model_is_in_the_picker(term, ollama):
    ollama.delay = 0.15  # about five seconds for the whole pull
    term.keys("C-o")
    term.wait_for("5 models")
    term.keys("C-n")  # the picker's pull key
    term.wait_for("Pull a model")
    term.type("deepseek-r1:14b")
    term.keys("Enter")
    live = term.wait_for("ETA", timeout=20)
    assert "Pulling deepseek-r1:14b" in live and "9.0 GB" in live and "/s" in live
    assert re.search(r"Pulling deepseek-r1:14b +9\.0 GB +(fits|tight|too big)", live), live
    assert re.search(r"^\W*pulling [0-9a-f]{12}\W*$", live, re.MULTILINE), live  # what the server does now
    term.wait_for("✓ Pulled deepseek-r1:14b", timeout=30)
    term.keys("Escape")
    term.wait_for_gone("Pull a model")
    term.keys("C-o")
    screen = term.wait_for("6 models")
    assert "deepseek-r1:14b" in screen, screen

"""An unsent draft in a real terminal: typed, Ctrl+Q at once, r1chat started again: it is back."""

from __future__ import annotations

import sys

import pytest

from tests.e2e.terminal import Terminal, needs_tmux, terminal_env

pytestmark = needs_tmux


@pytest.mark.hostile(4, "tui")
@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
def test_a_draft_typed_then_ctrl_q_is_back_when_r1chat_starts_again(ollama, size):
    command = [sys.executable, "-m", "r1chat", "--host", ollama.url, "-m", "deepseek-r1:8b"]
    first = Terminal(command, terminal_env({}), size=size)
    try:
        first.wait_for("connected", timeout=20)
        first.type("a question I have not finished")
        first.wait_for("a question I have not finished")
        first.keys("C-q")  # at once: before the pause after typing that stores it
        first.wait_for_gone("^q Quit", timeout=15)
    finally:
        first.close()
    again = Terminal(command, terminal_env({}), size=size)
    try:
        screen = again.wait_for("connected", timeout=20)
        screen = again.wait_for("a question I have not finished", timeout=5)
        assert "Ask anything" not in screen  # the box holds the draft, not its placeholder
    finally:
        again.close()

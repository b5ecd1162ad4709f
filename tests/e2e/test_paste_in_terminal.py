"""Pastes in a real terminal (tmux's bracketed paste): text, never keys."""

from __future__ import annotations

import sqlite3
import sys

import pytest

from tests.e2e.terminal import Terminal, needs_tmux, terminal_env

pytestmark = [needs_tmux, pytest.mark.hostile(7, "tui")]


@pytest.fixture
def chat(ollama):
    opened = []

    def start() -> Terminal:
        term = Terminal(
            [sys.executable, "-m", "r1chat", "--host", ollama.url, "-m", "deepseek-r1:8b"], terminal_env({}), size=(100, 30)
        )
        opened.append(term)
        term.wait_for("connected", timeout=20)
        return term

    yield start
    for term in opened:
        term.close()


def stored_prompts(data_dir) -> list[str]:
    db = sqlite3.connect(data_dir / "r1chat.db")
    try:
        return [row[0] for row in db.execute("SELECT content FROM messages WHERE role = 'user'")]
    finally:
        db.close()


def test_a_bel_and_cr_line_endings_in_a_paste_are_text_not_keys(chat, data_dir):
    term = chat()
    term.paste("first\x07 line\rsecond line")
    screen = term.wait_for("second line")
    assert "Search titles" not in screen  # Ctrl+G would have opened the history
    assert "first line" in screen
    term.keys("Enter")
    term.wait_for("✓ ", timeout=30)
    assert stored_prompts(data_dir) == ["first line\nsecond line"]


@pytest.mark.hostile(7, "tui")
def test_pasted_terminal_output_with_escape_sequences_is_text_not_keys(chat, data_dir):
    term = chat()
    term.paste("$ make\x1b]0;build: done\x07\r\x1b[32mok\x1b[0m all built")
    screen = term.wait_for("all built")
    assert "Search titles" not in screen  # the history screen's search box
    term.keys("Enter")
    term.wait_for("✓ ", timeout=30)
    assert stored_prompts(data_dir) == ["$ make\nok all built"]

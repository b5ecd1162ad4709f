"""The chat screen in a real terminal (tmux), talking to a real llama.cpp server."""

from __future__ import annotations

import re
import sqlite3
import sys
import time

import pytest

from tests.e2e.terminal import Terminal, needs_tmux, terminal_env
from tests.integration.conftest import THINK_GRAMMAR
from tests.integration.llama_server import MODEL_ID

pytestmark = [pytest.mark.integration, needs_tmux]

QUESTION = "What is the capital of France?"


@pytest.fixture
def chat(use_llama):
    opened = []

    def start() -> Terminal:
        term = Terminal([sys.executable, "-m", "r1chat"], terminal_env({}), size=(120, 40))
        opened.append(term)
        term.wait_for("connected", timeout=30)
        return term

    yield start
    for term in opened:
        term.close()


def saved_answer(data_dir) -> tuple[str, str, str]:
    db = sqlite3.connect(data_dir / "r1chat.db")
    try:
        return db.execute("SELECT status, reasoning, content FROM messages WHERE role = 'assistant'").fetchone()
    finally:
        db.close()


def words(text: str) -> str:
    """The words in order, so that text wrapped or styled as Markdown on screen still matches."""
    return " ".join(re.findall(r"\w+", text))


def send_and_wait(term: Terminal, prompt: str) -> tuple[str, list[str]]:
    """Send ``prompt``; the screen once the answer is over, and the screens seen while it streamed."""
    term.type(prompt)
    # As a person does: see the text in the prompt, then press Enter. (Typed in one burst right
    # after start, the Enter can overtake the text and send nothing.)
    term.wait_for(prompt)
    term.keys("Enter")
    term.wait_for("streaming", timeout=30)
    live = []
    deadline = time.monotonic() + 120
    while "streaming" in (screen := term.screen()):
        live.append(screen)
        assert time.monotonic() < deadline, screen
        time.sleep(0.1)
    return screen, live


def opening(text: str, size: int = 60) -> str:
    """The first whole words of ``text``, up to about ``size`` characters."""
    start = words(text)
    return start if len(start) <= size else start[:size].rsplit(" ", 1)[0]


def test_a_real_answer_streams_to_the_screen(chat, data_dir, use_llama):
    use_llama(max_tokens=200)  # some seconds of streaming to watch
    term = chat()
    assert MODEL_ID in term.screen()
    screen, live = send_and_wait(term, QUESTION)
    status, reasoning, content = saved_answer(data_dir)
    assert status == "done" and reasoning == "" and content.strip()
    # (This base model likes to begin by repeating the question, which is on screen anyway.)
    assert opening(content) not in words(QUESTION)
    # The model's own first words, as the person reads them: already while it was still writing.
    assert any(opening(content) in words(seen) for seen in live), live[-1] if live else "no live screen"
    assert opening(content) in words(screen), screen


def test_a_real_trace_is_shown_folded_above_its_answer(chat, data_dir, use_llama):
    use_llama(grammar=THINK_GRAMMAR, max_tokens=400)
    term = chat()
    screen, _ = send_and_wait(term, "Why is the sky blue?")
    status, reasoning, content = saved_answer(data_dir)
    assert status == "done" and reasoning.strip() and content.strip()
    assert "▶ Thought for" in screen and "think>" not in screen
    assert opening(content) in words(screen), screen
    # Unfolded, the trace's words join the screen (the tiny model may repeat them in its answer,
    # so count them rather than look for them).
    start = opening(reasoning, 30)
    term.keys("C-t")
    unfolded = term.wait_for("▼ Thought for")
    assert words(unfolded).count(start) > words(screen).count(start), unfolded

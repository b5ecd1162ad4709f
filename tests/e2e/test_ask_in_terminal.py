"""``r1chat ask`` in a real terminal: the thinking line while the trace streams unseen, and
``--json`` as a person running it would see it."""

from __future__ import annotations

import json
import shlex
import sys

import pytest

from tests.conftest import ANSWER, REASONING
from tests.e2e.terminal import Terminal, needs_tmux, terminal_env

pytestmark = needs_tmux

LONG_TRACE = " ".join(f"step{n}" for n in range(60))


@pytest.fixture
def terminal(ollama):
    opened = []

    def start(command: list[str], size=(100, 30)) -> Terminal:
        term = Terminal(command, terminal_env({"OLLAMA_HOST": ollama.url}), size=size)
        opened.append(term)
        return term

    yield start
    for term in opened:
        term.close()


def ask(*args: str) -> list[str]:
    return [sys.executable, "-m", "r1chat", "ask", "-m", "deepseek-r1:8b", *args]


def test_a_thinking_line_counts_time_and_tokens_then_gives_way_to_the_answer(terminal, ollama):
    ollama.delay = 0.05
    ollama.find("deepseek-r1:8b")[1].reasoning = LONG_TRACE
    term = terminal(ask("What is 17*23?"))
    screen = term.wait_for(" tokens")
    [line] = [row for row in screen.splitlines() if "thinking…" in row]
    assert line.startswith("thinking… ") and "s · " in line  # "thinking… 1.2s · 14 tokens"
    screen = term.wait_for("391**.", timeout=30)
    assert "thinking" not in screen  # erased before the answer, not left above it
    assert screen.splitlines()[0] == ANSWER


def test_no_thinking_line_when_stderr_is_not_a_terminal(terminal, ollama, tmp_path):
    ollama.delay = 0.02
    errors = tmp_path / "stderr.txt"
    term = terminal(["sh", "-c", f"{shlex.join(ask('What is 17*23?'))} 2>{shlex.quote(str(errors))}"])
    screen = term.wait_for("391**.", timeout=30)
    assert "thinking" not in screen
    assert errors.read_text() == ""


def test_json_on_a_terminal_is_one_object_a_line_ending_with_stats(terminal, ollama):
    ollama.delay = 0.02
    term = terminal(ask("--json", "What is 17*23?"), size=(400, 60))
    screen = term.wait_for('"type": "stats"', timeout=30)
    lines = [row for row in screen.splitlines() if row.strip()]
    events = [json.loads(row) for row in lines]  # nothing else on the screen: no thinking line
    assert "".join(e["text"] for e in events if e["type"] == "reasoning") == REASONING
    assert "".join(e["text"] for e in events if e["type"] == "content") == ANSWER
    stats = events[-1]
    assert stats["type"] == "stats" and stats["model"] == "deepseek-r1:8b" and stats["conversation_id"] == 1
    assert stats["reasoning_tokens"] > 0 and stats["answer_tokens"] > 0

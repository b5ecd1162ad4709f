"""``r1chat compare`` and ``r1chat eval`` in a real terminal: a line per model while they run
(one waiting for the other on the same Ollama host), then the table; eval's progress bar."""

from __future__ import annotations

import sys

import pytest

from tests.e2e.terminal import Terminal, needs_tmux, terminal_env

pytestmark = needs_tmux

SMALL, LARGE = "deepseek-r1:1.5b", "deepseek-r1:8b"
SLOW_TRACE = " ".join(f"step{n}" for n in range(80))


@pytest.fixture
def terminal(ollama):
    opened = []

    def start(*args: str, size=(120, 30)) -> Terminal:
        command = [sys.executable, "-m", "r1chat", *args]
        term = Terminal(command, terminal_env({"OLLAMA_HOST": ollama.url}), size=size)
        opened.append(term)
        return term

    yield start
    for term in opened:
        term.close()


def test_compare_shows_a_line_per_model_then_the_table(terminal, ollama):
    ollama.delay = 0.03
    for name in (SMALL, LARGE):
        model = ollama.find(name)[1]
        model.reasoning, model.answer = SLOW_TRACE, "\\boxed{391}"
    term = terminal("compare", "-m", SMALL, "-m", LARGE, "What is 17*23?")

    screen = term.wait_for(f"{SMALL}@ollama  thinking")
    [large] = [line for line in screen.splitlines() if line.startswith(LARGE)]
    assert large.endswith(f"waiting for {SMALL} to finish")
    screen = term.wait_for("agree: yes", timeout=40)
    rows = [line.split() for line in screen.splitlines()]
    table = [row for row in rows if row and row[-1] == "391"]
    assert [row[0] for row in table] == [SMALL, LARGE]
    progress = [line for line in screen.splitlines() if line.startswith((SMALL, LARGE)) and "done" in line]
    assert len(progress) == 2  # each progress line ends as done, above the table


def test_eval_draws_a_progress_bar_with_the_time_left(terminal, ollama, tmp_path):
    ollama.delay = 0.03
    model = ollama.find(SMALL)[1]
    model.reasoning, model.answer = SLOW_TRACE, "\\boxed{391}"
    term = terminal("eval", "--builtin", "--limit", "3", "-m", SMALL)

    screen = term.wait_for(" left")
    [bar] = [line for line in screen.splitlines() if line.startswith("[")]
    assert "/3 · " in bar and f"{SMALL}@ollama" in bar
    screen = term.wait_for("got", timeout=60)
    assert "#" not in screen  # the bar is erased before the table
    assert f"{SMALL}@ollama got wrong: arith-02, arith-03" in screen
    assert any(line.split()[:4] == [SMALL, "ollama", "1/3", "33.3%"] for line in screen.splitlines() if line.strip())

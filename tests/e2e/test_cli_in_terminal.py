"""The command line as a person sees it in a real terminal: live progress, questions, a dim trace."""

from __future__ import annotations

import sys

import pytest

from tests.e2e.terminal import Terminal, needs_tmux, terminal_env

pytestmark = needs_tmux

@pytest.fixture
def terminal(ollama):
    opened = []

    def start(*args: str) -> Terminal:
        term = Terminal([sys.executable, "-m", "r1chat", *args], terminal_env({"OLLAMA_HOST": ollama.url}))
        opened.append(term)
        return term

    yield start
    for term in opened:
        term.close()


def test_rm_asks_on_a_terminal_naming_the_model_and_its_size(terminal, ollama):
    term = terminal("rm", "llama3.2")
    screen = term.wait_for("[y/N]")
    assert "Delete llama3.2 (2.0 GB)" in screen
    term.type("n")
    term.keys("Enter")
    term.wait_for("Nothing deleted.")
    assert ollama.find("llama3.2") is not None

    term = terminal("rm", "llama3.2")
    term.wait_for("[y/N]")
    term.type("y")
    term.keys("Enter")
    term.wait_for("Deleted llama3.2.")
    assert ollama.find("llama3.2") is None


def test_pull_shows_a_live_line_per_layer_with_speed_and_eta(terminal, ollama):
    ollama.delay = 0.08
    term = terminal("pull", "deepseek-r1:14b")
    screen = term.wait_for("ETA")
    line = next(row for row in screen.splitlines() if "ETA" in row)
    assert "%" in line and "GB/" in line and "/s" in line
    screen = term.wait_for("Pulled deepseek-r1:14b.", timeout=30)
    layers = [row for row in screen.splitlines() if row.startswith("pulling ") and row != "pulling manifest"]
    # One line per layer, each rewritten in place, not one line per progress event.
    assert len(layers) == len(ollama.registry["deepseek-r1:14b"])
    assert all("100.0%" in layer for layer in layers)


def test_ask_shows_the_trace_dimmed_then_the_answer(terminal, ollama):
    term = terminal("ask", "-r", "-m", "deepseek-r1:8b", "What is 17*23?")
    screen = term.wait_for("391**.")
    assert "17 * 20 = 340" in screen and "17 * 23 = **391**." in screen
    coloured = term.screen(escapes=True)
    assert "\x1b[2mOkay, 17 * 23." in coloured

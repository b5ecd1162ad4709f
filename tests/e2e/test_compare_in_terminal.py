"""Compare in the chat screen, in a real terminal: alt+c picks models of two providers, their answers
stand in columns with the final answers under them, alt+g goes on with one of them."""

from __future__ import annotations

import sys

import pytest

from tests.e2e.terminal import Terminal, needs_tmux, terminal_env
from tests.servers import FakeOpenAI

pytestmark = needs_tmux

SMALL, LARGE, REMOTE = "deepseek-r1:1.5b", "deepseek-r1:8b", "deepseek/deepseek-r1"


@pytest.fixture
def chat(ollama, config_file):
    with FakeOpenAI(style="openrouter") as router:
        router.answers[REMOTE] = "It is \\boxed{391}."
        config_file.write_text(f'[providers.openrouter]\nkind = "openai"\nbase_url = "{router.url}/v1"\n')
        for name in (SMALL, LARGE):
            ollama.find(name)[1].answer = "17 * 23 = \\boxed{391}"
        term = Terminal(
            [sys.executable, "-m", "r1chat", "--host", ollama.url, "-m", SMALL], terminal_env({}), size=(120, 40)
        )
        try:
            term.wait_for("connected", timeout=20)
            yield term, router
        finally:
            term.close()


def test_alt_c_compares_models_of_two_providers_and_alt_g_goes_on_with_one(chat):
    term, router = chat
    term.keys("M-c")
    term.wait_for(f"{REMOTE}@openrouter")
    term.type("r1:8b")
    term.keys("Enter")
    term.wait_for("2 picked")
    term.keys("C-u")  # the filter box emptied
    term.type("openrouter r1")
    term.keys("Enter")
    term.wait_for(f"3 {REMOTE}@openrouter")  # its row says it is column 3
    term.wait_for(f"1. {SMALL}@ollama · 2. {LARGE}@ollama · 3.")  # the picked, in order, under the list
    term.keys("C-s")
    term.wait_for("⇆ comparing")

    term.type("What is 17 * 23?")
    term.keys("Enter")
    term.wait_for("they agree", timeout=30)
    screen = term.wait_for("● connected")  # the turn settled
    assert "Final answers: 1 391  ·  2 391  ·  3 391" in screen
    # Three columns on 120: each frame's title keeps the number, the mark and the start of the name.
    for title in (f"✓ 1 chosen · {SMALL}@", f"✓ 2 {LARGE}@ollama", f"✓ 3 {REMOTE}@"):
        assert title in screen, screen

    term.keys("M-g")
    term.wait_for("Go on with")
    term.keys("Down", "Down", "Enter")
    term.wait_for(f"openrouter · {REMOTE}")
    # The status bar may be drawn a frame before the columns are restyled: wait for the mark.
    screen = term.wait_for("✓ 3 chosen · deepseek")
    assert "⇆ comparing" not in screen
    assert "✓ 1 chosen" not in screen

"""The chat screen in a real terminal: what a person sees and what each key does."""

from __future__ import annotations

import sys
import time

import pytest

from tests.conftest import ANSWER
from tests.e2e.terminal import Terminal, needs_tmux, terminal_env

pytestmark = needs_tmux

LONG_TRACE = " ".join(f"thought{n}" for n in range(300))


@pytest.fixture
def chat(ollama):
    opened = []

    def start(size=(120, 40), *args: str) -> Terminal:
        term = Terminal(
            [sys.executable, "-m", "r1chat", "--host", ollama.url, "-m", "deepseek-r1:8b", *args],
            terminal_env({}),
            size=size,
        )
        opened.append(term)
        term.wait_for("connected", timeout=20)
        return term

    yield start
    for term in opened:
        term.close()


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_a_prompt_streams_a_timed_trace_then_the_answer(chat, ollama, size):
    ollama.delay = 0.03
    ollama.find("deepseek-r1:8b")[1].reasoning = "Let me see. " + " ".join(f"step{n}" for n in range(60))
    term = chat(size)
    screen = term.screen()
    assert "esc Stop" in screen and "^q Quit" in screen
    term.type("What is 17 * 23?")
    term.keys("Enter")
    live = term.wait_for("tokens")
    assert "▼ Thinking…" in live and "Let me see." in live
    term.wait_for("Thought for", timeout=20)
    screen = term.wait_for("✓ ", timeout=20)
    assert "391" in screen
    assert "▶ Thought for" in screen and "cut off" not in screen, "the trace folds when the answer begins"
    assert "step59" not in screen
    assert "ctx " in screen


def test_ctrl_t_unfolds_and_folds_the_latest_trace(chat):
    term = chat()
    term.type("What is 17 * 23?")
    term.keys("Enter")
    term.wait_for("✓ ", timeout=20)  # the turn is over (the trace itself says 391 too)
    term.keys("C-t")
    screen = term.wait_for("17 * 20 = 340")
    assert "▼ Thought for" in screen
    term.keys("C-t")
    term.wait_for("▶ Thought for")
    assert "17 * 20 = 340" not in term.screen()


def test_escape_stops_the_stream_and_keeps_the_partial_trace(chat, ollama):
    ollama.delay = 0.05
    ollama.find("deepseek-r1:8b")[1].reasoning = LONG_TRACE
    term = chat()
    term.type("think for a long time")
    term.keys("Enter")
    term.wait_for("thought5 ")
    term.keys("Escape")
    screen = term.wait_for("interrupted")
    assert "Stopped" in screen or "interrupted" in screen
    assert ollama.wait_for_disconnect(5)
    assert "thought5" in term.screen()
    assert ANSWER not in term.screen()


def test_ctrl_q_quits(chat):
    term = chat()
    term.keys("C-q")
    term.wait_for_gone("^q Quit")


def test_a_prompt_typed_and_sent_in_one_burst_is_sent_whole(chat, ollama):
    # A script (or a fast typist) sends the text and Enter together: Enter must not overtake it.
    term = chat()
    for n in range(3):
        term._tmux("send-keys", "-t", term.name, "-l", f"burst {n}: what is 17 * 23?")
        term.keys("Enter")
        deadline = time.monotonic() + 20
        while len([r for r in ollama.requests if r.path == "/api/chat" and r.json.get("messages")]) < n + 1:
            assert time.monotonic() < deadline, term.screen()
            time.sleep(0.05)
        while term.screen().count("17 * 23 = 391.") < n + 1 or "● connected" not in term.screen():
            assert time.monotonic() < deadline, term.screen()  # the answer is in, the turn over
            time.sleep(0.05)
    sent = [r.json["messages"][-1]["content"] for r in ollama.requests if r.path == "/api/chat" and r.json.get("messages")]
    assert sent == [f"burst {n}: what is 17 * 23?" for n in range(3)]


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
def test_the_footer_always_shows_f1_which_opens_the_help(chat, size):
    term = chat(size)
    footer = term.screen().rstrip().splitlines()[-1]
    assert footer.startswith("f1 Help") and "^q Quit" in footer, footer
    term.keys("F1")
    screen = term.wait_for("Warnings at start")
    assert "chat with reasoning models" in screen and "config.toml" in screen
    term.keys("Escape")
    term.wait_for("Ask anything")


def test_ctrl_l_puts_traces_beside_their_answers_even_at_80_columns(chat):
    term = chat((80, 24))
    term.type("What is 17 * 23?")
    term.keys("Enter")
    term.wait_for("✓ ", timeout=20)
    term.keys("C-l")
    term.wait_for("side: traces beside")  # the toast wraps the rest
    term.keys("C-t")
    screen = term.wait_for("▼ Thought for")
    title = next(line for line in screen.splitlines() if "▼ Thought for" in line)
    assert len(title.rstrip()) > 40, screen  # the answer's first line sits beside the trace's title


def test_an_action_remapped_to_alt_works_over_the_prompt(chat, config_file):
    config_file.write_text('[keys]\ntoggle_trace = "alt+t"\n')  # the README's own example
    term = chat((80, 24))
    assert "alt+t Trace" in term.screen()
    term.type("What is 17 * 23?")
    term.keys("Enter")
    term.wait_for("✓ ", timeout=20)
    term.wait_for("▶ Thought for")
    term.keys("M-t")  # tmux sends ESC t, as a terminal does for alt+t
    screen = term.wait_for("▼ Thought for")
    assert "Ask anything" in screen  # the prompt is still empty: no t was typed
    term.keys("M-t")
    term.wait_for("▶ Thought for")
    assert "Ask anything" in term.screen()

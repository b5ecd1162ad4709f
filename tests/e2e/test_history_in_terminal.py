"""Conversations in a real terminal: a turn killed mid-stream comes back; history and search."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from r1chat.conversation import MessageStatus
from r1chat.store import Store, default_path
from tests.conftest import ANSWER
from tests.e2e.terminal import Terminal, needs_tmux, terminal_env

pytestmark = needs_tmux

LONG_TRACE = " ".join(f"thought{n}" for n in range(400))


def start(ollama) -> Terminal:
    term = Terminal(
        [sys.executable, "-m", "r1chat", "--host", ollama.url, "-m", "deepseek-r1:8b"], terminal_env({}), size=(120, 40)
    )
    term.wait_for("connected", timeout=20)
    return term


def send(term: Terminal, text: str) -> None:
    """Type a prompt and, once it is on screen, press Enter, as a person would."""
    term.type(text)
    term.wait_for(text[:40])
    term.keys("Enter")


def app_pid(term: Terminal) -> int:
    """The r1chat process: the one child of the pane's shell."""
    shell = term._tmux("display-message", "-p", "-t", term.name, "#{pane_pid}").strip()
    children = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True).stdout.split()
    assert len(children) == 1, children
    return int(children[0])


def stored_messages():
    store = Store(default_path())
    try:
        return store.load_conversation(store.latest_conversation_id()).messages
    finally:
        store.close()


@pytest.fixture
def terms():
    opened: list[Terminal] = []
    yield opened
    for term in opened:
        term.close()


def test_a_turn_killed_mid_stream_comes_back_marked_interrupted_and_can_be_regenerated(ollama, terms):
    ollama.delay = 0.05
    ollama.find("deepseek-r1:8b")[1].reasoning = LONG_TRACE
    first = start(ollama)
    terms.append(first)
    send(first, "Think about this for a long time")
    first.wait_for("thought30 ", timeout=20)
    time.sleep(1.5)  # at least one periodic save
    os.kill(app_pid(first), signal.SIGKILL)
    first.wait_for_gone("connected")

    killed = stored_messages()
    assert killed[-1].status is MessageStatus.STREAMING  # nobody has looked at it yet
    assert killed[-1].reasoning.startswith("thought0 thought1")

    ollama.find("deepseek-r1:8b")[1].reasoning = "A short thought this time."
    second = start(ollama)
    terms.append(second)
    screen = second.wait_for("ctrl+r regenerates it")
    assert "The last answer was interrupted" in screen
    assert "Think about this for a long" in screen and "■ interrupted" in screen
    assert stored_messages()[-1].status is MessageStatus.INTERRUPTED
    assert stored_messages()[-1].reasoning == killed[-1].reasoning

    second.keys("C-r")
    second.wait_for("✓ ", timeout=20)
    messages = stored_messages()
    # Regenerated as a second version: the cut-off answer is kept, the new one is current.
    assert [m.status for m in messages] == [MessageStatus.DONE, MessageStatus.INTERRUPTED, MessageStatus.DONE]
    assert messages[1].reasoning == killed[-1].reasoning
    assert messages[-1].reasoning == "A short thought this time." and messages[-1].current and not messages[1].current


def test_ctrl_g_searches_traces_and_opens_the_hit(ollama, terms):
    term = start(ollama)
    terms.append(term)
    send(term, "What is 17 * 23?")
    term.wait_for("✓ ", timeout=20)
    term.keys("C-n")
    term.wait_for("A new conversation")

    term.keys("C-g")
    term.wait_for("1 conversation")
    term.type("340")  # a number only the trace holds
    screen = term.wait_for("1 conversation matches")
    assert "What is 17 * 23?" in screen and "turn 1 · trace" in screen and "1 match" in screen, screen
    term.keys("Enter")
    screen = term.wait_for("▼ Thought for")
    assert "17 * 20 = 340" in screen and "What is 17 * 23?" in screen


def test_a_corrupt_database_is_moved_aside_and_the_app_says_where(ollama, terms):
    path = default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a database\n" * 200)
    term = start(ollama)
    terms.append(term)
    screen = term.wait_for("moved to")
    moved = [p for p in path.parent.iterdir() if p.name.startswith(f"{path.name}.corrupt-")]
    assert [p.read_bytes() for p in moved] == [b"this is not a database\n" * 200]
    assert "r1chat.db.corrupt-" in screen.replace("\n", "").replace(" ", "").replace("│", "")
    send(term, "Still works?")
    term.wait_for("✓ ", timeout=20)
    assert [m.status for m in stored_messages()] == [MessageStatus.DONE, MessageStatus.DONE]


def test_two_windows_chatting_back_to_back_lose_nothing(ollama, terms):
    """Two r1chat processes on one database, each sending its next prompt as soon as its answer
    is in, six turns each; this process reads the store throughout, as a third window would."""
    ollama.delay = 0.004
    trace = " ".join(f"step{n}" for n in range(120))  # a second or so of streaming: saves mid-answer
    for model in ollama.models.values():
        model.reasoning = trace
    windows = [start(ollama), start(ollama)]
    terms.extend(windows)
    store = Store(default_path())

    def conversations() -> dict[int, list]:
        """Each window's stored messages, by window number (its prompts say which it is)."""
        found = {}
        for summary in store.list_conversations():
            messages = store.load_conversation(summary.id).messages
            found[int(messages[0].content.split()[1])] = messages
        return found

    def answered(messages: list) -> int:
        return sum(m.role.value == "assistant" and m.status is MessageStatus.DONE for m in messages)

    sent = [0, 0]
    turns = 6  # each: a dozen turns in all, their saves crossing (a time limit of a minute was a fifth of the serial round)
    deadline = time.monotonic() + 90
    try:
        while min(sent) < turns:
            assert time.monotonic() < deadline, (sent, conversations())
            stored = conversations()
            for n, window in enumerate(windows):
                screen = window.screen()
                assert "locked" not in screen and "rror" not in screen, screen
                idle = "● streaming" not in screen and answered(stored.get(n, [])) == sent[n]
                if idle and sent[n] < turns:
                    send(window, f"window {n} question {sent[n]}")
                    sent[n] += 1
            time.sleep(0.05)
        deadline = time.monotonic() + 30
        while [answered(conversations().get(n, [])) for n in range(2)] != sent:
            assert time.monotonic() < deadline, (sent, conversations())
            time.sleep(0.1)
        stored = conversations()
    finally:
        store.close()
    assert sent == [turns, turns], sent
    for n, messages in stored.items():
        prompts = [m.content for m in messages if m.role.value == "user"]
        assert prompts == [f"window {n} question {k}" for k in range(sent[n])]
        answers = [m for m in messages if m.role.value == "assistant"]
        assert [m.status for m in answers] == [MessageStatus.DONE] * sent[n]
        assert all(m.reasoning == trace and m.content == ANSWER for m in answers)
    for window in windows:
        assert "locked" not in window.screen()


def test_closing_the_terminal_mid_stream_keeps_what_arrived(ollama, terms):
    ollama.delay = 0.05
    ollama.find("deepseek-r1:8b")[1].reasoning = LONG_TRACE
    first = start(ollama)
    send(first, "Think about this for a long time")
    first.wait_for("thought20 ", timeout=20)
    pid = app_pid(first)
    first.close()  # the terminal goes away: the app gets SIGHUP
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}"), "r1chat outlived its terminal"
    assert ollama.wait_for_disconnect(5)

    killed = stored_messages()[-1]
    assert killed.reasoning.startswith("thought0 thought1 ") and "thought20" in killed.reasoning
    second = start(ollama)
    terms.append(second)
    second.wait_for("ctrl+r regenerates it")
    assert stored_messages()[-1].status is MessageStatus.INTERRUPTED

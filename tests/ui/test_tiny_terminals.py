"""No terminal is too small: r1chat starts in any size from 1x1, and lives through being resized
down to it and back, with a conversation on screen and an answer streaming."""

from __future__ import annotations

import pytest

from r1chat.conversation import Conversation, Message, MessageStatus, Role
from r1chat.session import ChatSession
from tests.ui.conftest import screen_text, wait_until

TINY = [(1, 1), (2, 1), (1, 2), (3, 3), (8, 2), (12, 4), (20, 5), (30, 8)]
LONG_TRACE = " ".join(f"thought{n}" for n in range(300))


@pytest.fixture
def stored_session(settings, store, ollama_provider):
    """A conversation with a trace, Markdown and a long line, as the app reopens one."""
    conversation = Conversation(title="a stored chat " * 5, provider="ollama", model="deepseek-r1:8b")
    store.create_conversation(conversation)
    store.add_message(conversation, Message(Role.USER, "Why is the sky blue? " * 10))
    answer = "# Because\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint('x' * 80)\n```\n- $x^2$ " + "wide " * 40
    store.add_message(conversation, Message(Role.ASSISTANT, answer, reasoning="First I **weigh** it. " * 20))
    return ChatSession(settings, store, ollama_provider, conversation=store.load_conversation(conversation.id))


@pytest.mark.hostile(11, "tui")
@pytest.mark.parametrize("size", TINY, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_r1chat_starts_in_a_tiny_terminal_and_answers_once_it_grows(run_app, stored_session, size):
    async with run_app(stored_session, size=size) as pilot:
        await pilot.press(*"hi")
        await pilot.pause(0.1)
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.1)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "✓ " in screen_text(pilot), "the answer", timeout=10)
    assert stored_session.conversation.messages[-1].status is MessageStatus.DONE


@pytest.mark.hostile(11, "tui")
@pytest.mark.slow  # 53 sizes while a trace streams, then every screen at 1x1
async def test_resizing_down_to_1x1_and_back_while_an_answer_streams(run_app, stored_session, ollama):
    ollama.delay = 0.03
    ollama.find("deepseek-r1:8b")[1].reasoning = LONG_TRACE
    # Widths: 1 and 2 (a cut line is its ellipsis alone), 4 and 5 (the prompt's margins and border
    # leave it no cell, then one), 12; heights: 1 to 4 (the prompt's three rows and the status bar
    # leave the conversation none), 6.
    sweep = [(width, height) for width in (1, 2, 4, 5, 12) for height in (1, 2, 3, 4, 6)]
    async with run_app(stored_session, size=(80, 24)) as pilot:
        await pilot.press(*"think long")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "thought5 " in screen_text(pilot), "the trace streaming")
        for size in [*sweep, (80, 24), (1, 1), (160, 45), *sweep[::-1]]:
            await pilot.resize_terminal(*size)
            await pilot.pause(0.02)
        ollama.delay = 0  # the rest of the trace at once: what is tested is the sweep above
        await pilot.resize_terminal(120, 40)
        await wait_until(pilot, lambda: "✓ " in screen_text(pilot), "the answer", timeout=30)
        # Each screen r1chat has, at 1x1: open, drawn, closed.
        for key in ("ctrl+g", "ctrl+o", "f1", "ctrl+p"):
            await pilot.resize_terminal(1, 1)
            await pilot.press(key)
            await pilot.pause(0.1)
            await pilot.resize_terminal(3, 2)
            await pilot.pause(0.05)
            await pilot.press("escape")
            await pilot.resize_terminal(120, 40)
            await pilot.pause(0.05)
    answer = stored_session.conversation.messages[-1]
    assert answer.status is MessageStatus.DONE and answer.reasoning == LONG_TRACE

"""The chat screen on a full disk and a stalled stream: what cannot be saved is said, kept, and
written when it can; a prompt that cannot be stored stays in the box. A real SQLite file made full
with ``PRAGMA max_page_count`` (no root needed), the fake Ollama over HTTP, the app under Pilot."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from r1chat.backends.base import Reasoning
from r1chat.cli import _keep_unsaved
from r1chat.conversation import MessageStatus, Role
from r1chat.session import ChatSession
from r1chat.ui.widgets.message import AssistantMessage, UserMessage
from tests.conftest import ANSWER
from tests.servers import OllamaFault
from tests.ui.conftest import paste, wait_until
from tests.unit.test_disk_full import LONG_TRACE, fill_disk, free_space, full_when_the_trace_starts, stored

PROMPT = "What is 17 * 23?"


@pytest.fixture
def session(settings, store, ollama_provider, ollama) -> ChatSession:
    ollama.find("deepseek-r1:8b")[1].reasoning = LONG_TRACE
    return ChatSession(settings, store, ollama_provider, model="deepseek-r1:8b")


def banner(pilot) -> str:
    shown = pilot.app.screen.banner
    return str(shown.render()) if shown.display else ""


def status(pilot) -> str:
    return str(pilot.app.screen.status.render())


async def send(pilot, text: str) -> None:
    await paste(pilot, text)
    await pilot.press("enter")


async def answered(pilot, session: ChatSession, count: int) -> None:
    await wait_until(
        pilot,
        lambda: not session.streaming and len([m for m in session.conversation.messages if m.role is Role.ASSISTANT]) == count
        and session.conversation.messages[-1].status is not MessageStatus.STREAMING,
        "the answer to end",
        timeout=15,
    )
    await pilot.pause()


@pytest.mark.hostile(1, "tui")
async def test_a_full_disk_mid_answer_is_shown_and_the_answer_saved_when_space_returns(run_app, session, store):
    full_when_the_trace_starts(session)
    async with run_app(session) as pilot:
        await send(pilot, PROMPT)
        await answered(pilot, session, 1)
        # The answer is on screen whole; the banner and the status bar say it is not saved.
        assert pilot.app.screen.query_one(AssistantMessage).answer_text == ANSWER
        assert "Answers are not being saved" in banner(pilot) and "full" in banner(pilot)
        assert "recovery file" in banner(pilot)
        assert "not saved" in status(pilot)
        assert [m.status for m in stored(store.path) if m.role is Role.ASSISTANT] == [MessageStatus.STREAMING]
        # Space returns: the next answer's saves write the first one too, and the warning goes.
        free_space(store)
        await send(pilot, "And 17 * 24?")
        await answered(pilot, session, 2)
        assert not banner(pilot) and "not saved" not in status(pilot)
    answers = [m for m in stored(store.path) if m.role is Role.ASSISTANT]
    assert [(m.status, m.reasoning, m.content) for m in answers] == [(MessageStatus.DONE, LONG_TRACE, ANSWER)] * 2


@pytest.mark.hostile(1, "tui")
async def test_an_answer_never_saved_is_in_a_recovery_file_named_after_the_app_exits(
    run_app, session, store, isolated_dirs, capsys
):
    full_when_the_trace_starts(session)
    async with run_app(session) as pilot:
        await send(pilot, PROMPT)
        await answered(pilot, session, 1)
        await pilot.press("ctrl+q")
    assert _keep_unsaved(session)  # what r1chat does once the terminal is restored
    line = capsys.readouterr().err.strip()
    assert line.startswith("r1chat: An answer could not be saved in the database; kept in ")
    path = Path(line.rsplit("kept in ", 1)[1])
    assert path.parent == isolated_dirs / "state" / "r1chat" / "recovery"
    text = path.read_text()
    assert PROMPT in text and LONG_TRACE.strip() in text and ANSWER in text


@pytest.mark.hostile(2, "tui")
async def test_a_prompt_sent_while_the_disk_is_full_stays_in_the_box(run_app, session, store, ollama):
    prompt = "A long prompt pasted in. " * 400  # needs new pages, as any write does on a full disk
    async with run_app(session) as pilot:
        fill_disk(store)
        await send(pilot, prompt)
        screen = pilot.app.screen
        await wait_until(pilot, lambda: bool(banner(pilot)), "the banner")
        assert screen.prompt.prompt_text == prompt
        shown = banner(pilot)
        assert "Cannot write to" in shown and "Your prompt is kept" in shown and shown.count("\n") <= 1, shown
        assert not screen.query(UserMessage) and not screen.query(AssistantMessage)
        assert stored(store.path) == [] and not [r for r in ollama.requests if r.path == "/api/chat"]
        # Room again: Enter sends the same prompt.
        free_space(store)
        await pilot.press("enter")
        await answered(pilot, session, 1)
        assert [m.content for m in stored(store.path) if m.role is Role.USER] == [prompt]


@pytest.mark.hostile(3, "tui")
async def test_a_stalled_stream_on_screen_is_saved_by_the_clock(run_app, session, store, ollama):
    ollama.find("deepseek-r1:8b")[1].reasoning = "Okay, 17 * 23. 17 * 20 = 340, 17 * 3 = 51, so 391."
    ollama.fault = OllamaFault(stall_after=6)
    heard: list[str] = []
    session.subscribe(lambda event: heard.append(event.text) if isinstance(event, Reasoning) else None)
    async with run_app(session) as pilot:
        await send(pilot, PROMPT)
        await wait_until(pilot, lambda: len(heard) >= 5, "the trace before the stall", timeout=10)
        await asyncio.sleep(0.3)
        arrived = "".join(heard)
        deadline = time.monotonic() + 5  # a save a second; generous under load
        reasoning = ""
        while time.monotonic() < deadline and reasoning != arrived:
            answers = [m for m in stored(store.path) if m.role is Role.ASSISTANT]
            reasoning = answers[0].reasoning if answers else ""
            await pilot.pause(0.1)
        assert reasoning == arrived and "".join(heard) == arrived
        await pilot.press("escape")
        await answered(pilot, session, 1)


@pytest.mark.hostile(1, "tui")
async def test_the_not_saved_warning_comes_back_after_a_loop_warning_goes(run_app, session, store, ollama):
    ollama.find("deepseek-r1:8b")[1].reasoning = "A thought about the question, turned over once more. " * 400
    full_when_the_trace_starts(session)
    async with run_app(session) as pilot:
        await send(pilot, PROMPT)
        await answered(pilot, session, 1)
        assert "Answers are not being saved" in banner(pilot) and "not saved" in status(pilot)

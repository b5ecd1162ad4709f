"""Snapshots of a compare turn: live (one Ollama column thinking, the other waiting for it, the
OpenRouter column answering) and reopened, at 80x24 (stacked) and 160x45 (side by side).

Update with `pytest tests/ui/test_compare_snapshots.py --snapshot-update`, then read the SVGs.
Every clock that reaches the screen is pinned (as in test_snapshots.py), each column's turn with a
clock of its own: columns on two hosts run at once, and a shared clock would depend on the order
their events came in.
"""

from __future__ import annotations

import functools
import math

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from r1chat.conversation import MessageStatus
from r1chat.turn import Turn
from r1chat.ui.app import R1ChatApp
from r1chat.ui.widgets.compare import CompareAnswers
from r1chat.ui.widgets.markdown import LiveText
from tests.servers import OllamaFault, OpenAIFault
from tests.ui.test_compare import QUESTION, REFS, make_session, open_picker, servers  # noqa: F401
from tests.ui.test_snapshots import FrozenClock, SteppingClock, chat_screen, until

SIZES = [(80, 24), (160, 45)]
IDS = ["80x24", "160x45"]
THINKING = (
    "Six sevens. Seven and seven is fourteen, and fourteen is twenty-one, twenty-eight, "
    "thirty-five, forty-two. So forty-two, unless the question means something else."
)


def _own_clock(*args, **kwargs) -> Turn:
    return Turn(*args, **{**kwargs, "clock": SteppingClock(), "save_interval": math.inf})


@pytest.fixture
def pinned(monkeypatch, servers):  # noqa: F811
    clock = FrozenClock()
    monkeypatch.setattr("r1chat.ui.widgets.trace.clock", clock)
    monkeypatch.setattr("r1chat.compare.Turn", _own_clock)
    monkeypatch.setattr("r1chat.session.Turn", functools.partial(_own_clock))
    monkeypatch.setattr(
        "tests.servers.ollama_chat.time",
        type("Stopped", (), {"monotonic_ns": staticmethod(lambda: 0), "time_ns": staticmethod(lambda: 1_700_000_000 * 10**9)}),
    )
    ollama, router = servers
    for model in ollama.models.values():
        model.reasoning = THINKING
    return clock


async def _columns(pilot: Pilot) -> CompareAnswers:
    screen = await chat_screen(pilot)
    screen.session.set_compare(REFS)
    screen.status.show(screen.session)
    screen.prompt.load_text(QUESTION)
    await pilot.press("enter")
    await until(pilot, lambda: screen.view.compare_answers() is not None, "the columns")
    return screen.view.compare_answers()


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_compare_turn_live(snap_compare, make_session, servers, pinned, size):  # noqa: F811
    ollama, router = servers
    ollama.fault = OllamaFault(stall_after=12)
    router.fault = OpenAIFault(stall_after=9)

    async def steps(pilot: Pilot) -> None:
        answers = await _columns(pilot)
        first, second, third = answers.columns

        def settled() -> bool:
            trace = first.answer.trace
            live = third.answer.query(".answer").results(LiveText)
            return (
                trace is not None and trace.tokens == 12 and (trace.collapsed or trace.query_one(LiveText).drawn)
                and second.note.display and third.turn is not None and third.turn.streamed == 9
                and all(text.drawn for text in live) and "The answer is" in third.answer.answer_text
            )

        await until(pilot, settled, "column 1 thinking, 2 waiting, 3 answering")
        pinned.now += 4.2  # every column's clock: its trace's title and its figures
        for column in answers.columns:
            if column.answer.trace is not None and column.answer.trace.live:
                column.answer.trace.refresh_title()
            if column.turn is not None:
                column.show_figures()
        pilot.app.screen.prompt.cursor_blink = False
        await pilot.pause()

    assert snap_compare(R1ChatApp(make_session()), terminal_size=size, run_before=steps)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_compare_turn_reopened(snap_compare, make_session, pinned, tmp_path, size):  # noqa: F811
    import asyncio

    session = make_session()

    async def compare() -> int | None:
        try:
            await session.compare(QUESTION, REFS)
            assert await session.choose_column(1)
            return session.conversation.id
        finally:
            await session.aclose()

    conversation_id = asyncio.run(compare())

    async def steps(pilot: Pilot) -> None:
        screen = await chat_screen(pilot)
        await until(pilot, lambda: screen.view.compare_answers() is not None, "the compare turn")
        answers = screen.view.compare_answers()
        assert all(column.message.status is MessageStatus.DONE for column in answers.columns)
        screen.prompt.cursor_blink = False
        await pilot.pause()

    assert snap_compare(R1ChatApp(make_session(), reopen=conversation_id), terminal_size=size, run_before=steps)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_compare_picker(snap_compare, make_session, pinned, size):  # noqa: F811
    async def steps(pilot: Pilot) -> None:
        await chat_screen(pilot)
        picker = await open_picker(pilot)
        picker.query_one("#filter", Input).value = "r1:8b"
        await pilot.pause()
        await pilot.press("enter")  # column 2, under the model in use (column 1)
        picker.query_one("#filter", Input).value = ""
        await pilot.pause()
        picker.query_one("#filter", Input).cursor_blink = False
        await pilot.pause()

    assert snap_compare(R1ChatApp(make_session()), terminal_size=size, run_before=steps)

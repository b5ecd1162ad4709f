"""The app's one clock for what changes while a turn streams (widgets/frames.py)."""

from __future__ import annotations

from textual.app import App

from r1chat.ui.widgets.frames import FPS, frames
from tests.ui.conftest import wait_until


async def test_each_joined_callback_runs_on_its_frames_in_one_tick_and_stops_when_it_leaves():
    async with App().run_test() as pilot:
        clock = frames(pilot.app)
        assert frames(pilot.app) is clock
        calls: list[str] = []

        def text() -> None:
            calls.append("text")

        def figures() -> None:
            calls.append("figures")

        clock.join(text)
        await wait_until(pilot, lambda: calls, "the first frame")  # the real timer ticks
        clock.join(figures, every=3)
        calls.clear()
        clock._count = 0
        for _ in range(6):
            clock._frame()
        assert calls.count("text") == 6 and calls.count("figures") == 2
        clock.leave(text)
        clock.leave(figures)
        clock.leave(figures)  # leaving twice is no fault
        calls.clear()
        await pilot.pause(3 / FPS)
        assert calls == []  # nothing joined: the timer waits


async def test_a_callback_that_leaves_during_a_frame_is_not_called_in_it():
    async with App().run_test() as pilot:
        clock = frames(pilot.app)
        calls: list[str] = []

        def first() -> None:
            calls.append("first")
            clock.leave(second)

        def second() -> None:
            calls.append("second")

        clock.join(first)
        clock.join(second)
        clock._frame()
        assert calls == ["first"]
        clock.leave(first)

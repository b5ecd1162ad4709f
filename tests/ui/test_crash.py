"""A crash inside the app: its traceback goes to a log file under the user's log folder, the app
ends with return code 1, and what the terminal gets afterwards is one line naming the file."""

from __future__ import annotations

import asyncio

import pytest
from rich.traceback import Traceback

from r1chat.ui.app import R1ChatApp


@pytest.mark.hostile(12, "tui")
async def test_a_crash_in_a_key_handler_is_logged_and_ends_the_app_with_1(run_app, isolated_dirs, monkeypatch):
    def action_help(self):
        raise RuntimeError("a bug in a key handler")

    monkeypatch.setattr(R1ChatApp, "action_help", action_help)
    with pytest.raises(RuntimeError, match="a bug in a key handler"):  # Pilot hands on what crashed
        async with run_app() as pilot:
            app = pilot.app
            await pilot.press("f1")
            await pilot.pause(0.2)
    assert app.return_code == 1
    crash = app.crash
    assert crash is not None and crash.log is not None
    assert crash.log.parent == isolated_dirs / "state" / "r1chat" / "log"
    details = crash.log.read_text()
    assert "Traceback (most recent call last)" in details and "in action_help" in details
    assert "RuntimeError: a bug in a key handler" in details
    assert crash.line() == f"crashed (RuntimeError: a bug in a key handler). The details are in {crash.log}"


@pytest.mark.hostile(12, "tui")
async def test_a_panic_from_textuals_input_thread_is_logged_too(run_app):
    async with run_app() as pilot:
        app = pilot.app
        try:
            raise UnicodeDecodeError("utf-8", b"\xe9", 0, 1, "invalid continuation byte")
        except UnicodeDecodeError:
            app.call_later(app.panic, Traceback())  # what Textual's input thread does with its errors
        await asyncio.sleep(0.3)  # Pilot's pause waits for an app that is now closing
    assert app.crash is not None and app.crash.log is not None
    assert "invalid continuation byte" in app.crash.summary
    assert "UnicodeDecodeError" in app.crash.log.read_text()


@pytest.mark.hostile(12, "tui")
async def test_two_crashes_in_the_same_second_keep_both_logs(run_app, monkeypatch):
    def action_help(self):
        raise RuntimeError("again")

    monkeypatch.setattr(R1ChatApp, "action_help", action_help)
    logs = []
    for _ in range(2):
        with pytest.raises(RuntimeError):
            async with run_app() as pilot:
                app = pilot.app
                await pilot.press("f1")
                await pilot.pause(0.2)
        logs.append(app.crash.log)
    assert logs[0] != logs[1] and all(log.exists() for log in logs)

"""Snapshots of attaching: the @ file picker, and chips (in a sent prompt and in the prompt box).
Pinned as tests/ui/test_snapshots.py pins its states; update with `--snapshot-update` and look at
each SVG."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from r1chat.ui.file_picker import FilePicker
from tests.ui.test_snapshots import chat_screen, frozen_time, make_app, server, until  # noqa: F401

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])


@pytest.fixture
def project(tmp_path, monkeypatch):
    """r1chat started in ~/proj (HOME is the test's folder, so the picker names it the same on every run)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def main():\n    return 42\n")
    (root / "src" / "apple.txt").write_text("an apple\n")
    (root / "docs").mkdir()
    (root / "docs" / "guide.md").write_text("# Guide\n" + "Some words.\n" * 300)
    (root / "README.md").write_text("# Project\n")
    (root / ".env.example").write_text("KEY=1\n")
    monkeypatch.chdir(root)
    return root


async def picker(pilot: Pilot, typed: str) -> FilePicker:
    await pilot.press(*typed)
    await until(pilot, lambda: isinstance(pilot.app.screen, FilePicker), "the picker")
    screen = pilot.app.screen
    await until(pilot, lambda: screen.entries is not None, "the walk")
    return screen


async def chip(pilot: Pilot, screen, query: str) -> None:
    count = len(screen.prompt.attached)
    await picker(pilot, "@")
    await pilot.press(*query, "enter")
    await until(pilot, lambda: len(screen.prompt.attached) > count, "the chip")


@SIZES
def test_the_file_picker_filtering(snap_compare, server, make_app, project, size):  # noqa: F811
    async def steps(pilot: Pilot) -> None:
        await chat_screen(pilot)
        await pilot.press(*"Look at ")
        await picker(pilot, "@")
        await pilot.press(*"ap")
        await pilot.pause(0.1)

    assert snap_compare(make_app(server.url), terminal_size=size, run_before=steps)


@SIZES
def test_chips_in_a_sent_prompt_and_in_the_prompt_box(snap_compare, server, make_app, project, size):  # noqa: F811
    async def steps(pilot: Pilot) -> None:
        screen = await chat_screen(pilot)
        await pilot.press(*"Compare ")
        await chip(pilot, screen, "app.py")
        await pilot.press(*"with ")
        await chip(pilot, screen, "guide")
        await pilot.press("enter")
        await until(pilot, lambda: screen.session.turn is not None and not screen.session.streaming, "the turn")
        await until(pilot, lambda: screen.status.connection == "connected", "the status bar")
        await pilot.press(*"And ")
        await chip(pilot, screen, "readme")
        await pilot.pause(0.1)

    assert snap_compare(make_app(server.url), terminal_size=size, run_before=steps)

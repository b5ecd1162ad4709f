"""Snapshots of the chat screen in every built-in theme, and of the settings screen.

Each chat snapshot holds every colour r1chat itself sets (user message, trace title and body,
answer, status bar, footer), so a theme that leaves one unreadable shows here. Create or update
them with `pytest tests/ui/test_theme_snapshots.py --snapshot-update`, then look at each SVG.
The clocks, the model and the cursor are pinned as in test_snapshots.py, whose fixtures these use.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from r1chat.themes import builtin_theme_dir
from r1chat.ui.screens.settings import SettingsScreen
from r1chat.ui.widgets.trace import Trace
from tests.servers import FakeOllama
from tests.ui import test_snapshots as snapshots
from tests.ui.test_snapshots import chat_screen, finished_turn, until

# The same fixtures: the fake Ollama answering REASONING then ANSWER, every clock pinned.
frozen_time, server, make_app = snapshots.frozen_time, snapshots.server, snapshots.make_app

BUILT_IN = sorted(path.stem for path in builtin_theme_dir().glob("*.toml"))


def test_every_built_in_theme_is_snapshotted():
    assert {"r1-dark", "r1-light", "r1-high-contrast", "r1-amber"} <= set(BUILT_IN)


@pytest.mark.parametrize("theme", BUILT_IN)
def test_chat_screen_in_theme(snap_compare, server, make_app, theme):
    async def steps(pilot: Pilot) -> None:
        screen = await finished_turn(pilot)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: not screen.query_one(Trace).collapsed, "the trace to unfold")

    assert snap_compare(make_app(server.url, theme=theme), terminal_size=(100, 30), run_before=steps)


# The settings screen names the file and the host in use: both pinned.
# Below the ephemeral ports (32768-60999): no other socket takes them. One per size: parallel
# workers run the two sizes at once.
SETTINGS_PORTS = {(80, 24): 17312, (120, 40): 17313}
CONFIG = Path("/home/someone/.config/r1chat/config.toml")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_settings_screen(snap_compare, make_app, size):
    fake = FakeOllama(port=SETTINGS_PORTS[size])

    async def steps(pilot: Pilot) -> None:
        await chat_screen(pilot)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen), "the settings screen")

    with fake:
        app = make_app(fake.url)
        app.session.settings.path = CONFIG
        assert snap_compare(app, terminal_size=size, run_before=steps)

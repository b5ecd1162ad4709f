"""The footer: one line of the keys as bound now; the mouse works on it as on Textual's."""

from __future__ import annotations

import pytest

from r1chat.ui.screens.help import HelpScreen
from r1chat.ui.screens.history import HistoryScreen
from r1chat.ui.widgets.footer import KeysFooter
from tests.ui.conftest import screen_text, wait_until


def footer_of(pilot) -> tuple[KeysFooter, str]:
    footer = pilot.app.screen.query_one(KeysFooter)
    return footer, screen_text(pilot).splitlines()[footer.region.y]


async def test_the_palette_key_sits_at_the_right_edge_and_keys_that_do_not_fit_are_left_out_whole(run_app):
    async with run_app(size=(120, 30)) as pilot:
        _, wide = footer_of(pilot)
        assert wide.startswith("f1 Help ") and wide.rstrip().endswith("▏^p palette"), wide
        assert len(wide) == 119  # and one column blank after it, as Textual's footer had it
    async with run_app(size=(50, 30)) as pilot:
        _, narrow = footer_of(pilot)
        assert narrow.startswith("f1 Help ") and narrow.rstrip().endswith("▏^p palette"), narrow
        keys = narrow.split("▏")[0].split()
        # Key and description in pairs: no key shown without its word, none cut in two.
        assert len(keys) % 2 == 0 and len(keys) >= 4, narrow
        for display, description in zip(keys[::2], keys[1::2], strict=True):
            assert display in wide and f"{display} {description}" in wide, (display, description)


async def test_clicking_a_key_presses_it(run_app):
    async with run_app(size=(100, 30)) as pilot:
        footer, line = footer_of(pilot)
        await pilot.click(KeysFooter, offset=(line.index("History") + 1, 0))
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen), "the history screen")
        footer, line = footer_of(pilot)
        await pilot.click(KeysFooter, offset=(line.index("f1") + 1, 0))
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "the help screen")


async def test_the_key_under_the_mouse_is_highlighted_and_the_rest_are_not(run_app):
    async with run_app(size=(100, 30)) as pilot:
        footer, line = footer_of(pilot)
        x = line.index("^g")

        def background(at: int):
            strip = footer.render_line(0)
            return strip.crop(at, at + 1)._segments[0].style.bgcolor

        before = background(x), background(0)
        await pilot.hover(KeysFooter, offset=(x, 0))
        await wait_until(pilot, lambda: background(x) != before[0], "the highlight")
        assert background(0) == before[1]  # f1 Help, not under the mouse
        await pilot.hover(KeysFooter, offset=(0, 0))
        await wait_until(pilot, lambda: background(x) == before[0], "the highlight to move")


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
async def test_the_footer_follows_the_screen_s_keys_as_they_change(run_app, size):
    async with run_app(size=size) as pilot:
        _, chat = footer_of(pilot)
        assert "^t Trace" in chat
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen), "the history screen")
        await pilot.pause()
        _, history = footer_of(pilot)
        assert "esc Back" in history and "^t Trace" not in history, history

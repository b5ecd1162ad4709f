"""Themes in the running app: user themes load (bad ones are named once), every widget follows the
theme, and the palette previews a theme as you move and saves the one you pick."""

from __future__ import annotations

import tomllib

import pytest
from textual.color import Color

from r1chat.ui.screens.theme_picker import ThemePalette
from r1chat.ui.widgets.trace import Trace
from tests.ui.conftest import type_text, wait_until

MINE = """\
name = "mine"
dark = true
primary = "#336699"
background = "#101820"

[variables]
trace-title = "#FF0000"
trace-body = "#00FF00"
user-message-background = "#0000FF"
status-bar-background = "#123456"
"""


@pytest.fixture
def theme_dir(isolated_dirs):
    folder = isolated_dirs / "config" / "r1chat" / "themes"
    folder.mkdir(parents=True)
    return folder


def notes(pilot) -> list[str]:
    return [str(n.message) for n in pilot.app._notifications]


async def one_turn(pilot) -> None:
    screen = pilot.app.screen
    screen.prompt.load_text("What is 17 * 23?")
    await pilot.press("enter")
    await wait_until(pilot, lambda: screen.session.turn is not None and not screen.session.streaming, "the answer")
    trace = screen.query_one(Trace)
    trace.collapsed = False
    await pilot.pause()


async def test_a_user_theme_colours_the_trace_the_user_message_and_the_status_bar(run_app, settings, theme_dir):
    (theme_dir / "mine.toml").write_text(MINE)
    settings.ui.theme = "mine"
    async with run_app() as pilot:
        app = pilot.app
        assert app.theme == "mine" and notes(pilot) == []
        await one_turn(pilot)
        screen = app.screen
        assert screen.query_one(".trace-title").styles.color == Color.parse("#FF0000")
        assert screen.query_one(".trace-body").styles.color == Color.parse("#00FF00")
        assert screen.query_one(".user-message").styles.background == Color.parse("#0000FF")
        assert screen.status.styles.background == Color.parse("#123456")


async def test_bad_user_themes_are_named_once_and_the_good_ones_still_load(run_app, theme_dir):
    (theme_dir / "mine.toml").write_text(MINE)
    (theme_dir / "broken.toml").write_text('name = "broken"\nprimary = "#12345\n')
    (theme_dir / "colour.toml").write_text('name = "colour"\nprimary = "blurple"\n')
    (theme_dir / "variable.toml").write_text('name = "variable"\nprimary = "#224466"\n[variables]\ntrace-body = "bright"\n')
    (theme_dir / "typo.toml").write_text('name = "typo"\nprimary = "#224466"\n[variables]\ntrace-titel = "#ffffff"\n')
    async with run_app() as pilot:
        app = pilot.app
        assert {"mine", "typo"} <= set(app.available_themes)
        assert not {"broken", "colour", "variable"} & set(app.available_themes)
        [themes] = [n for n in app._notifications if n.title == "Themes"]
        lines = str(themes.message).splitlines()
        assert len(lines) == 4
        assert any(f"{theme_dir / 'broken.toml'}, line 2: not valid TOML" in line for line in lines)
        assert any(f"{theme_dir / 'colour.toml'}, line 2: 'primary' is not a colour ('blurple')" in line for line in lines)
        assert any(f"{theme_dir / 'variable.toml'}, line 4: 'variables.trace-body' cannot be used" in line for line in lines)
        assert any("'variables.trace-titel' is not a theme variable" in line and "ignored" in line for line in lines)


async def test_a_user_theme_may_replace_a_built_in_one(run_app, theme_dir):
    (theme_dir / "dark.toml").write_text(MINE.replace('"mine"', '"r1-dark"'))
    async with run_app() as pilot:
        assert pilot.app.current_theme.primary == "#336699"


@pytest.mark.parametrize("theme", ["r1-dark", "r1-light", "r1-high-contrast", "r1-amber", "dracula", "textual-light"])
async def test_every_theme_styles_r1chats_widgets_from_its_own_colours(run_app, settings, theme):
    settings.ui.theme = theme
    async with run_app() as pilot:
        app = pilot.app
        assert app.theme == theme
        await one_turn(pilot)
        variables = app.theme_variables
        screen = app.screen
        assert screen.status.styles.background == Color.parse(variables["status-bar-background"])
        title = screen.query_one(".trace-title").styles.color
        assert title.a > 0 and title != screen.styles.background


async def test_an_unknown_theme_in_the_config_is_said_and_the_default_is_used(run_app, settings, config_file):
    config_file.write_text('[ui]\ntheme = "solarised"\n')
    settings.ui.theme = "solarised"
    settings.path = config_file
    async with run_app() as pilot:
        assert pilot.app.theme == "r1-dark"
        [said] = [m for m in notes(pilot) if "solarised" in m]
        assert f"{config_file}, line 2: 'ui.theme' is 'solarised', which is no theme r1chat has" in said


async def test_the_palette_previews_while_choosing_and_esc_goes_back(run_app, config_file):
    async with run_app() as pilot:
        app = pilot.app
        app.search_themes()
        await wait_until(pilot, lambda: isinstance(app.screen, ThemePalette), "the theme palette")
        await type_text(pilot, "amber")
        await wait_until(pilot, lambda: app.theme == "r1-amber", "the preview")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ThemePalette), "the palette to close")
        assert app.theme == "r1-dark"
        assert not config_file.exists()


async def test_the_theme_picked_in_the_palette_is_used_and_saved(run_app, settings, config_file):
    config_file.write_text("# mine\nnum_ctx = 4096\n")
    async with run_app() as pilot:
        app = pilot.app
        await pilot.press("ctrl+p")
        await type_text(pilot, "theme")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ThemePalette), "the theme palette")
        await type_text(pilot, "contrast")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ThemePalette), "the palette to close")
        await pilot.pause(0.2)
        assert app.theme == "r1-high-contrast"
    text = config_file.read_text()
    assert text.startswith("# mine\nnum_ctx = 4096\n")
    assert tomllib.loads(text)["ui"] == {"theme": "r1-high-contrast"}
    assert settings.ui.theme == "r1-high-contrast"


async def test_a_theme_that_cannot_be_saved_is_still_used_and_the_reason_given(run_app, config_file):
    config_file.write_text('provider = "ollama\n')
    async with run_app() as pilot:
        app = pilot.app
        app.search_themes()
        await wait_until(pilot, lambda: isinstance(app.screen, ThemePalette), "the theme palette")
        await type_text(pilot, "r1-light")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.theme == "r1-light", "the theme")
        [said] = [m for m in notes(pilot) if "not saved" in m]
        assert "line 1: not valid TOML" in said
    assert config_file.read_text() == 'provider = "ollama\n'

"""F1: r1chat's own help screen, built from the bindings as bound now; the footer always shows
it; warnings at start are short toasts above the status bar, and listed there for good."""

from __future__ import annotations

import pytest

from r1chat.session import ChatSession
from r1chat.ui.app import R1ChatApp
from r1chat.ui.screens.chat import ChatScreen
from r1chat.ui.screens.help import HelpScreen
from r1chat.ui.widgets.footer import KeysFooter
from tests.ui.conftest import lines_of, screen_text, wait_until
from tests.ui.test_commands import palette_entries


def help_text(pilot) -> str:
    screen = pilot.app.screen
    assert isinstance(screen, HelpScreen), screen
    return "\n".join(line for widget in screen.query("#help-body > *") for line in lines_of(widget))


async def open_help(pilot, key: str = "f1") -> str:
    await pilot.press(key)
    # Generous: the first opening imports every screen's module (their keys are listed).
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "the help screen", timeout=20)
    await pilot.pause()
    return help_text(pilot)


def footer_line(pilot) -> str:
    footer = pilot.app.screen.query_one(KeysFooter)
    return screen_text(pilot).splitlines()[footer.region.y]


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
async def test_the_footer_shows_f1_help_first_at_any_width(run_app, size):
    async with run_app(size=size) as pilot:
        line = footer_line(pilot)
        assert line.lstrip().startswith("f1 Help"), line
        assert "^q Quit" in line  # compact: the keys after it still fit at 80 columns


@pytest.mark.parametrize("action", ["settings", "conversation_settings"])
async def test_f1_works_on_the_dialogs_too_and_their_footer_shows_it(run_app, action):
    async with run_app(size=(80, 24)) as pilot:
        chat = pilot.app.screen
        await pilot.app.run_action(action)
        await wait_until(pilot, lambda: pilot.app.screen is not chat, "the dialog")
        dialog = pilot.app.screen
        await pilot.pause()
        assert footer_line(pilot).lstrip().startswith("f1 Help")
        await open_help(pilot)
        await pilot.press("escape")
        await wait_until(pilot, lambda: pilot.app.screen is dialog, "the dialog again")


@pytest.mark.parametrize("close", ["f1", "escape", "q"])
async def test_f1_opens_the_help_and_f1_escape_or_q_close_it(run_app, close):
    async with run_app(size=(80, 24)) as pilot:
        await open_help(pilot)
        await pilot.press(close)
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen again")
        assert not pilot.app.screen.query("HelpPanel")  # not Textual's key panel


async def test_the_help_groups_r1chats_keys_by_area_with_the_editing_keys_last(run_app):
    async with run_app(size=(160, 45)) as pilot:
        text = await open_help(pilot)
        lines = text.splitlines()
        assert lines[0].startswith("r1chat ") and "reasoning models" in lines[0]  # what this is, one line
        areas = ["Files", "Warnings at start", "Chat", "Traces", "Models", "History", "Settings", "Editing the prompt"]
        found = [lines.index(next(line for line in lines if line.strip() == area)) for area in areas]
        assert found == sorted(found), found
        def section(area: str) -> str:
            start = areas.index(area)
            end = found[start + 1] if start + 1 < len(found) else len(lines)
            return "\n".join(lines[found[start]:end])
        assert "ctrl+l" in section("Traces") and "Cycle trace layout" in section("Traces")
        assert "ctrl+o" in section("Models") and "ctrl+g" in section("History") and "ctrl+s" in section("Settings")
        assert "f2" in section("Chat") and "ctrl+r" in section("Chat") and "f8" in section("Chat")
        # The prompt's own keys, then Textual's editing keys: last, after everything of r1chat's.
        editing = section("Editing the prompt")
        assert "ctrl+j," in editing and "shift+enter" in editing and "Cursor word left" in editing and "Undo" in editing
        assert "Cursor word left" not in text[:text.index("Editing the prompt")]


async def test_the_help_closes_on_its_own_remapped_key(run_app, settings):
    settings.keys = {"help.close": "x"}
    async with run_app(size=(80, 24)) as pilot:
        assert "f1, x closes this." in await open_help(pilot)
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen again")


async def test_the_help_shows_keys_as_remapped(run_app, settings):
    settings.keys = {"toggle_layout": "f6", "history": "f11"}  # f6: the prompt's select-line
    async with run_app(size=(160, 45)) as pilot:
        text = await open_help(pilot)
        history = next(line for line in text.splitlines() if "[history]" in line)
        assert history.split()[0] == "f11"
        layout = next(line for line in text.splitlines() if "[toggle_layout]" in line)
        assert layout.split()[0] == "ctrl+l"  # the clash was refused, so the key is still the default


async def test_the_help_says_where_the_config_lives_and_lists_the_warnings_at_start(
    run_app, settings, config_file, isolated_dirs, monkeypatch
):
    assert settings.path == config_file  # platformdirs, under the test's own XDG_CONFIG_HOME
    monkeypatch.setenv("HOME", str(isolated_dirs))
    settings.keys = {"toggle_layuot": "f6"}
    async with run_app(size=(160, 45)) as pilot:
        text = await open_help(pilot)
        assert "~/config/r1chat/config.toml" in text and "not created yet" in text
        warnings = " ".join(text[text.index("Warnings at start"):text.index("Chat")].split())
        assert "'keys.toggle_layuot' is not a binding id (did you mean 'toggle_layout'?" in warnings


async def test_the_help_says_which_trace_layout_is_chosen(run_app):
    async with run_app(size=(80, 24)) as pilot:
        await pilot.press("ctrl+l")
        assert "side: traces beside their answers at any width" in await open_help(pilot)


async def test_the_palette_offers_the_help_and_not_textuals_key_panel(run_app):
    async with run_app(size=(80, 24)) as pilot:
        entries = await palette_entries(pilot)
        assert "Keys" not in entries
        assert "(f1)" in entries["Help"]
        await pilot.press("ctrl+p")
        await pilot.press(*"Help")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "the help screen")


async def test_warnings_at_start_are_short_toasts_above_the_status_bar(settings, store, ollama_provider):
    settings.keys = {"no_such_binding": "f6"}
    app = R1ChatApp(ChatSession(settings, store, ollama_provider))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_until(pilot, lambda: app.screen.query("Toast"), "the warning")
        await pilot.pause()
        [warning] = [n for n in app._notifications if n.severity == "warning"]
        assert warning.timeout <= 10  # it stayed 30 s over a third of the screen
        toast = app.screen.query_one("Toast")
        status = app.screen.query_one("#status")
        assert toast.region.bottom <= status.region.y

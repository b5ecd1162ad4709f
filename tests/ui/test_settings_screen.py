"""The settings screen under Pilot: what it shows, what saving writes (0600, only what changed),
what it refuses, and how the running app follows; and one conversation's own settings."""

from __future__ import annotations

import stat
import tomllib

import pytest
from textual.widgets import Input, Select, TextArea

from r1chat.config import load_settings
from r1chat.ui.screens.conversation_settings import ConversationSettingsScreen
from r1chat.ui.screens.settings import ConfirmReplace, SettingsScreen
from tests.ui.conftest import screen_text, text_of, wait_until

SECRET = "sk-do-not-show-me-4321"


async def open_settings(pilot) -> SettingsScreen:
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen), "the settings screen")
    await pilot.pause()
    return pilot.app.screen


def field(screen, widget_id: str):
    return screen.query_one(f"#{widget_id}")


def provider_field(screen, name: str, what: str):
    form = next(f for f in screen.providers if f.name == name)
    return screen.query_one(f"#{form.id(what)}")


async def save(pilot) -> None:
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: not isinstance(pilot.app.screen, SettingsScreen), "the screen to close")
    await pilot.pause()


def notes(pilot) -> list[str]:
    return [str(n.message) for n in pilot.app._notifications]


async def test_the_screen_shows_the_settings_a_fresh_start_would_use(run_app, settings, config_file):
    config_file.write_text('num_ctx = 16384\ntemperature = 0.5\nsystem_prompt = "Be brief."\n[ui]\ntrace_layout = "side"\n')
    async with run_app() as pilot:
        screen = await open_settings(pilot)
        assert field(screen, "num_ctx").value == "16384"
        assert field(screen, "temperature").value == "0.5"
        assert field(screen, "top_p").value == ""
        assert field(screen, "system_prompt").text == "Be brief."
        assert field(screen, "trace_layout").value == "side"
        assert field(screen, "theme").value == "r1-dark"
        text = screen_text(pilot)
        # The title names the file whole; on screen, a path longer than the dialog is wide (pytest-xdist's
        # workers add a folder to the temporary one) folds onto a second line, so its start is looked for.
        assert str(screen.query_one("#title").content) == f"Settings  {config_file}"
        assert "Settings" in text and str(config_file)[:60] in text
        assert "Save" in text and "Cancel" in text  # the footer's keys
        # The fake's port is in use now but not in the file: said, not saved. (A title folded onto
        # a second line can push the host below the fold: it is scrolled into view first.)
        ollama = provider_field(screen, "ollama", "url")
        assert ollama.value == "http://127.0.0.1:11434"
        screen.query_one("#form").scroll_to_center(ollama, animate=False, immediate=True)
        await wait_until(pilot, lambda: "in use until r1chat restarts" in screen_text(pilot), "the note on the host in use")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(pilot.app.screen, SettingsScreen), "the screen to close")
    assert config_file.read_text().startswith("num_ctx = 16384")


async def test_saving_writes_only_what_changed_into_a_0600_file_and_the_app_follows(run_app, settings, config_file):
    config_file.write_text("# kept\nnum_ctx = 16384\n")
    async with run_app() as pilot:
        app = pilot.app
        screen = await open_settings(pilot)
        field(screen, "temperature").value = "0.7"
        field(screen, "keep_alive").value = "1h"
        field(screen, "system_prompt").load_text("Answer in French.")
        field(screen, "trace_layout").value = "inline"
        field(screen, "trace_collapse").value = "never"
        field(screen, "loop_guard").value = "stop"
        field(screen, "theme").value = "r1-light"
        await wait_until(pilot, lambda: app.theme == "r1-light", "the theme preview")
        provider_field(screen, "deepseek", "key").value = SECRET
        await save(pilot)
        chat = app.screen
        assert app.theme == "r1-light"
        assert settings.temperature == 0.7 and settings.keep_alive == "1h"
        assert settings.system_prompt == "Answer in French."
        assert chat.layout_choice == "inline" and chat.view.collapse == "never"
        assert settings.ui.loop_guard == "stop"
        assert settings.providers["deepseek"].api_key == SECRET
        assert any(f"Saved to {config_file}" in n for n in notes(pilot))
        assert not any(SECRET in n for n in notes(pilot))
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    text = config_file.read_text()
    assert text.startswith("# kept\nnum_ctx = 16384\n")
    data = tomllib.loads(text)
    assert data == {
        "num_ctx": 16384,
        "temperature": 0.7,
        "keep_alive": "1h",
        "system_prompt": "Answer in French.",
        "ui": {"trace_layout": "inline", "trace_collapse": "never", "loop_guard": "stop", "theme": "r1-light"},
        "providers": {"deepseek": {"api_key": SECRET}},
    }
    # Nothing the form showed but the user left alone was written (hosts, models, top_p...).
    assert "ollama" not in text and "top_p" not in text


@pytest.mark.slow  # the form opened twice
async def test_saved_settings_come_back_and_a_key_is_never_shown(run_app, settings, config_file):
    config_file.write_text(f'temperature = 0.3\n[providers.deepseek]\napi_key = "{SECRET}"\n')
    config_file.chmod(0o600)
    async with run_app() as pilot:
        screen = await open_settings(pilot)
        key = provider_field(screen, "deepseek", "key")
        assert key.value == "" and key.password
        assert "****4321 saved" in key.placeholder
        for _ in range(30):  # scroll through the whole form, looking at every line
            assert SECRET not in screen_text(pilot)
            await pilot.press("pagedown")
        assert field(screen, "temperature").value == "0.3"


async def test_a_key_from_the_environment_wins_and_the_screen_says_so(run_app, settings, config_file, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-from-the-environment-7777")
    async with run_app() as pilot:
        screen = await open_settings(pilot)
        key = provider_field(screen, "deepseek", "key")
        assert key.placeholder == "****7777 from $DEEPSEEK_API_KEY"
        note = screen.query_one(f"#{next(f for f in screen.providers if f.name == 'deepseek').id('key-note')}")
        assert "$DEEPSEEK_API_KEY wins over a key saved here" in str(note.render())
        field(screen, "temperature").value = "0.2"
        await save(pilot)
    assert "sk-from-the-environment" not in config_file.read_text()


async def test_forget_removes_the_saved_key(run_app, settings, config_file):
    config_file.write_text(f'[providers.deepseek]\napi_key = "{SECRET}"\nmodel = "deepseek-v4-pro"\n')
    async with run_app() as pilot:
        screen = await open_settings(pilot)
        form = next(f for f in screen.providers if f.name == "deepseek")
        forget = screen.query_one(f"#{form.id('forget')}")
        forget.scroll_visible(animate=False)
        await pilot.pause()
        await pilot.click(forget)
        await pilot.pause()
        assert provider_field(screen, "deepseek", "key").placeholder == "the saved key is removed when you save"
        await save(pilot)
    assert tomllib.loads(config_file.read_text()) == {"providers": {"deepseek": {"model": "deepseek-v4-pro"}}}


async def test_bad_input_is_named_and_nothing_is_saved(run_app, settings, config_file):
    async with run_app() as pilot:
        screen = await open_settings(pilot)
        field(screen, "temperature").value = "hot"
        field(screen, "num_ctx").value = "4096"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert pilot.app.screen is screen
        temperature = field(screen, "temperature")
        assert temperature.has_class("-invalid") and temperature.has_focus
        assert "Temperature: a number from 0 to 2, not 'hot'" in screen_text(pilot)
        temperature.value = "0.4"
        await pilot.pause()
        assert not temperature.has_class("-invalid")
        await save(pilot)
    assert tomllib.loads(config_file.read_text()) == {"num_ctx": 4096, "temperature": 0.4}


async def test_esc_with_changes_asks_once_then_drops_them_and_the_theme_goes_back(run_app, settings, config_file):
    async with run_app() as pilot:
        app = pilot.app
        screen = await open_settings(pilot)
        field(screen, "num_ctx").value = "2048"
        field(screen, "theme").value = "r1-amber"
        await wait_until(pilot, lambda: app.theme == "r1-amber", "the preview")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        assert "Unsaved changes: Esc again drops them" in screen_text(pilot)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is not screen, "the screen to close")
        assert app.theme == "r1-dark" and settings.num_ctx == 8192
    assert not config_file.exists()


@pytest.mark.slow  # the form opened and saved twice
async def test_a_broken_config_is_replaced_only_with_consent_and_kept_beside(run_app, settings, config_file):
    broken = 'num_ctx = 4096\nprovider = "ollama\n'
    config_file.write_text(broken)
    async with run_app() as pilot:
        app = pilot.app
        screen = await open_settings(pilot)
        field(screen, "temperature").value = "0.5"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmReplace), "the question")
        assert "line 2: not valid TOML" in screen_text(pilot)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is screen, "back to the form")
        assert config_file.read_text() == broken
        assert "Not saved:" in screen_text(pilot)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmReplace), "the question again")
        await pilot.press("y")
        await wait_until(pilot, lambda: not isinstance(app.screen, (ConfirmReplace, SettingsScreen)), "the save")
        assert any("kept as" in n and "config.toml.broken" in n for n in notes(pilot))
    assert tomllib.loads(config_file.read_text()) == {"temperature": 0.5}
    assert config_file.with_name("config.toml.broken").read_text() == broken


@pytest.mark.slow  # the form opened and saved twice
async def test_a_provider_can_be_added_with_its_key_and_removed_again(run_app, settings, config_file):
    async with run_app() as pilot:
        screen = await open_settings(pilot)
        field(screen, "new-name").value = "openrouter"
        field(screen, "new-url").value = "https://openrouter.example/api/v1"
        field(screen, "add").press()
        await wait_until(pilot, lambda: any(f.name == "openrouter" for f in screen.providers), "the new provider")
        await pilot.pause()
        assert provider_field(screen, "openrouter", "key").has_focus
        provider_field(screen, "openrouter", "key").value = SECRET
        provider_field(screen, "openrouter", "model").value = "deepseek/deepseek-r1"
        assert ("openrouter", "openrouter") in field(screen, "provider")._options
        await save(pilot)
        assert settings.providers["openrouter"].api_key == SECRET
    assert tomllib.loads(config_file.read_text())["providers"] == {
        "openrouter": {"kind": "openai", "base_url": "https://openrouter.example/api/v1",
                       "api_key": SECRET, "model": "deepseek/deepseek-r1"}
    }
    assert load_settings().provider_config("openrouter").url == "https://openrouter.example/api/v1"

    async with run_app() as pilot:
        screen = await open_settings(pilot)
        remove = provider_field(screen, "openrouter", "remove")
        remove.press()
        await wait_until(pilot, lambda: not screen.query(f"#{remove.id.replace('remove', 'section')}"), "the section to go")
        await save(pilot)
    assert "openrouter" not in config_file.read_text()


async def test_a_new_host_for_the_provider_in_use_reconnects_at_once(run_app, settings, config_file):
    async with run_app() as pilot:
        chat = pilot.app.screen
        assert chat.status.connection == "connected"
        screen = await open_settings(pilot)
        provider_field(screen, "ollama", "url").value = "http://127.0.0.1:9"
        await save(pilot)
        await wait_until(pilot, lambda: chat.status.connection == "unreachable", "the new host to be tried")
        assert chat.session.backend.url.startswith("http://127.0.0.1:9")
    assert tomllib.loads(config_file.read_text()) == {"providers": {"ollama": {"host": "http://127.0.0.1:9"}}}


async def test_nothing_changed_writes_nothing(run_app, config_file):
    async with run_app() as pilot:
        await open_settings(pilot)
        await save(pilot)
        assert any("Nothing to save" in n for n in notes(pilot))
    assert not config_file.exists()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.slow  # tabs through every field of the form
async def test_every_field_can_be_reached_with_tab_at_any_size(run_app, size):
    async with run_app(size=size) as pilot:
        screen = await open_settings(pilot)
        seen = set()
        first = pilot.app.focused
        form = screen.query_one("#form")
        for _ in range(60):
            await pilot.press("tab")
            focused = pilot.app.focused
            if focused is not None and focused.id:
                seen.add(focused.id)
                if focused.id != "add":  # the focus scrolls the form after the key is handled: wait for it
                    await wait_until(pilot, lambda f=focused: f.region.height > 0 and form.region.contains_region(f.region),
                                     f"#{focused.id} in view")
            if focused is first:  # round the whole focus chain: every later tab repeats it
                break
        for widget_id in ("provider", "model", "num_ctx", "keep_alive", "temperature", "top_p", "system_prompt",
                          "trace_collapse", "trace_layout", "loop_guard", "theme", "new-name", "new-url"):
            assert widget_id in seen


async def test_the_titles_hint_describes_the_choice_shown(run_app, config_file):
    async with run_app() as pilot:
        screen = await open_settings(pilot)
        note = screen.query_one("#titles-note")
        assert field(screen, "titles").value == "prompt"
        assert "first prompt" in text_of(note) and "asked" not in text_of(note)
        field(screen, "titles").value = "model"
        await wait_until(pilot, lambda: "the model is asked" in text_of(note), "the note of the model choice")
        field(screen, "titles").value = "prompt"
        await wait_until(pilot, lambda: "first prompt" in text_of(note), "the note of the prompt choice")


@pytest.mark.slow  # the form at several sizes
async def test_a_form_taller_than_the_terminal_says_there_is_more_below(run_app):
    async with run_app(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        await wait_until(pilot, lambda: "↓ more below" in screen_text(pilot), "the more-below note")
        assert "↓ more below: Traces and look, Providers" in screen_text(pilot)
        screen.query_one("#form").scroll_end(animate=False)
        await wait_until(pilot, lambda: "more below" not in screen_text(pilot), "the note to go at the end of the form")
    async with run_app(size=(160, 60)) as pilot:
        await open_settings(pilot)
        await pilot.pause(0.1)
        assert "more below" not in screen_text(pilot)  # the whole form fits


# --- one conversation --------------------------------------------------------------------------


async def test_conversation_settings_are_used_for_its_turns_and_stored_with_it(run_app, session, ollama):
    async with run_app(session) as pilot:
        app = pilot.app
        app.action_conversation_settings()
        await wait_until(pilot, lambda: isinstance(app.screen, ConversationSettingsScreen), "the dialog")
        await pilot.pause()
        screen = app.screen
        screen.query_one("#temperature", Input).value = "0.2"
        screen.query_one("#num_ctx", Input).value = "2048"
        screen.query_one("#system_prompt", TextArea).load_text("You are terse.")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConversationSettingsScreen), "the dialog to close")
        chat = app.screen
        chat.prompt.load_text("Hello?")
        await pilot.press("enter")
        await wait_until(pilot, lambda: chat.session.turn is not None and not chat.session.streaming, "the answer")
        conversation_id = session.conversation.id
    [request] = [r for r in ollama.requests if r.path == "/api/chat"]
    assert request.json["options"]["temperature"] == 0.2 and request.json["options"]["num_ctx"] == 2048
    assert request.json["messages"][0] == {"role": "system", "content": "You are terse."}
    stored = session.store.load_conversation(conversation_id)
    assert stored.settings == {"temperature": 0.2, "num_ctx": 2048, "system_prompt": "You are terse."}


async def test_conversation_settings_refuse_bad_input_and_keep_the_dialog(run_app):
    async with run_app() as pilot:
        app = pilot.app
        app.action_conversation_settings()
        await wait_until(pilot, lambda: isinstance(app.screen, ConversationSettingsScreen), "the dialog")
        await pilot.pause()
        screen = app.screen
        screen.query_one("#top_p", Input).value = "2"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen
        assert "Top p: from 0 to 1, not 2" in screen_text(pilot)
        assert app.screen.session.conversation.settings == {}


def test_selects_know_every_choice():
    from r1chat.config import _UI_CHOICES
    from r1chat.ui.screens.settings import COLLAPSE, LAYOUT, LOOPS

    assert {value for _, value in COLLAPSE} == set(_UI_CHOICES["trace_collapse"])
    assert {value for _, value in LAYOUT} == set(_UI_CHOICES["trace_layout"])
    assert {value for _, value in LOOPS} == set(_UI_CHOICES["loop_guard"])
    assert Select  # the form's choices are Selects

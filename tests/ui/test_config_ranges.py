"""The chat screen with out-of-range numbers in the config: said at start, defaults used."""

from __future__ import annotations

import pytest

from r1chat.config import load_settings
from r1chat.session import ChatSession
from tests.ui.conftest import screen_text, type_text, wait_until
from tests.ui.test_settings_screen import field, open_settings, provider_field


@pytest.mark.hostile(13, "tui")
async def test_out_of_range_values_are_shown_at_start_and_the_turn_uses_the_defaults(run_app, store, ollama, config_file):
    config_file.write_text("# mine\nread_timeout = 0\ntemperature = 99\n")
    settings = load_settings()
    provider = settings.provider_config("ollama")
    provider.url = ollama.url
    async with run_app(ChatSession(settings, store, provider), size=(160, 45)) as pilot:
        shown = [str(n.message) for n in pilot.app._notifications]
        assert any(f"{config_file}, line 2: 'read_timeout' should be from 1 to 86400, not 0; using the default, 600"
                   in message and f"{config_file}, line 3: 'temperature' should be from 0 to 2, not 99" in message
                   for message in shown), shown
        # Before, a read timeout of 0 failed every request with an empty message.
        await type_text(pilot, "hi")
        await pilot.press("enter")
        screen = pilot.app.screen
        await wait_until(pilot, lambda: not screen.session.streaming and screen.session.conversation.messages
                         and screen.session.conversation.messages[-1].status == "done", "the answer", timeout=15)
    sent = [r.json for r in ollama.requests if r.path == "/api/chat"][-1]["options"]
    assert sent["temperature"] == 0.6


@pytest.mark.hostile(13, "tui")
@pytest.mark.parametrize("field_id, value, says", [
    ("num_ctx", "-4096", "Context window: between 256 and 10000000 tokens, not -4096"),
    ("temperature", "99", "Temperature: from 0 to 2, not 99"),
    ("top_p", "1.5", "Top p: from 0 to 1, not 1.5"),
])
async def test_the_settings_screen_refuses_out_of_range_values_and_saves_nothing(run_app, config_file, field_id, value,
                                                                                 says):
    async with run_app() as pilot:
        screen = await open_settings(pilot)
        field(screen, field_id).value = value
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert pilot.app.screen is screen and field(screen, field_id).has_class("-invalid")
        assert says in screen_text(pilot)
    assert not config_file.exists()


@pytest.mark.hostile(16, "tui")
async def test_the_settings_screen_refuses_an_impossible_port(run_app, config_file):
    async with run_app() as pilot:
        screen = await open_settings(pilot)
        provider_field(screen, "ollama", "url").value = "http://127.0.0.1:99999"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert pilot.app.screen is screen
        assert "'http://127.0.0.1:99999' has port 99999, which cannot be: a port is 1 to 65535" in screen_text(pilot)
    assert not config_file.exists()

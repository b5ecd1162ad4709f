"""The chat screen with out-of-range numbers in the config: said at start, defaults used."""

from __future__ import annotations

import pytest

from r1chat.config import load_settings
from r1chat.session import ChatSession
from tests.ui.conftest import type_text, wait_until


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

"""What a new user meets in the first hour, under Pilot: the status bar while the first check
runs, the export dialog's choice, an error shown once."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from r1chat.session import ChatSession
from r1chat.ui.app import R1ChatApp
from r1chat.ui.screens.chat import ChatScreen
from tests.ui.conftest import text_of, wait_until


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that takes connections and never answers: the connection check stays running."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize(("configured", "shown"), [(None, "…"), ("deepseek-r1:14b", "deepseek-r1:14b")])
async def test_while_the_first_check_runs_the_status_bar_names_the_configured_model_not_no_model(
    settings, store, silent_server, configured, shown
):
    settings.model = configured
    provider = settings.provider_config("ollama")
    provider.url = silent_server
    app = R1ChatApp(ChatSession(settings, store, provider))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen), "the chat screen")
        status = app.screen.status
        await wait_until(pilot, lambda: "connecting" in text_of(status), "the check under way")
        for _ in range(5):
            line = text_of(status)
            assert status.connection == "connecting" and "no model" not in line
            assert f"ollama · {shown} · … connecting" in line
            await pilot.pause(0.05)


async def test_the_export_dialog_draws_a_dot_only_in_the_chosen_format(run_app, store):
    from r1chat.conversation import Conversation, Message, Role
    from r1chat.ui.screens.history import ExportScreen, HistoryScreen
    from tests.ui.conftest import screen_text

    conversation = Conversation(title="Sky", provider="ollama", model="deepseek-r1:8b")
    store.add_message(conversation, Message(Role.USER, "Why is the sky blue?"))
    async with run_app(size=(80, 24)) as pilot:
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen), "the history screen")
        await wait_until(pilot, lambda: pilot.app.screen.rows.option_count == 1, "the list")
        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ExportScreen), "the export dialog")
        await pilot.pause(0.1)

        def buttons() -> list[str]:
            return [line.strip(" ▊▎│") for line in screen_text(pilot).splitlines() if "▐" in line and "▌" in line]

        assert buttons() == ["▐●▌ Markdown (traces in <details> blocks)", "▐ ▌ JSON"]
        await pilot.press("tab", "down", "enter")  # to the formats, then the second one
        await wait_until(pilot, lambda: pilot.app.screen.format == "json", "JSON chosen")
        await pilot.pause(0.1)
        assert buttons() == ["▐ ▌ Markdown (traces in <details> blocks)", "▐●▌ JSON"]

"""Two windows on one conversation: the app on the same data as a second session (another window,
with its own connection to the file) that stores a turn; the app's next turn sends it, and its
view shows it above the new turn."""

from __future__ import annotations

import pytest

from r1chat.session import ChatSession
from r1chat.store import Store
from r1chat.ui.widgets.message import UserMessage
from tests.ui.conftest import wait_until
from tests.ui.test_chat_screen import ask, chat, chats


@pytest.mark.hostile(15, "tui")
async def test_a_turn_stored_by_another_window_is_sent_and_shown_before_the_next(
    run_app, session, settings, ollama_provider, store, ollama
):
    async with run_app(session) as pilot:
        await ask(pilot, "one")
        other_store = Store(store.path)
        try:
            other = ChatSession(settings, other_store, ollama_provider)
            other.open_stored(session.conversation.id)
            await other.send("two, from the other window")
            await other.aclose()
        finally:
            other_store.close()
        assert [str(u.render()) for u in chat(pilot).query(UserMessage)] == ["one"]  # not seen yet
        await ask(pilot, "three")
        await wait_until(pilot, lambda: len(chat(pilot).query(UserMessage)) == 3, "three prompts on screen")
        assert [str(u.render()) for u in chat(pilot).query(UserMessage)] == ["one", "two, from the other window", "three"]
        sent = [m["content"] for m in chats(ollama)[-1].json["messages"] if m["role"] == "user"]
        assert sent == ["one", "two, from the other window", "three"]

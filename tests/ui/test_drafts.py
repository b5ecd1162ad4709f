"""An unsent draft survives quitting: each conversation keeps what was typed in it (a new one
too), stored a moment after the last key and on quitting, back when the conversation is opened
again; sending it clears it. A restart is a new app and a new store on the same file."""

from __future__ import annotations

import pytest

from r1chat.session import ChatSession
from r1chat.store import Store
from tests.ui.conftest import paste, wait_until
from tests.ui.test_chat_screen import ask, chat
from tests.ui.test_history_screen import HAIKU, SKY, open_history, seed


def restarted(settings, ollama_provider, store: Store) -> tuple[Store, ChatSession]:
    """What a new r1chat process on the same data would have: its own store on the same file."""
    again = Store(store.path)
    return again, ChatSession(settings, again, ollama_provider)


async def quit_app(pilot) -> None:
    await pilot.press("ctrl+q")
    await wait_until(pilot, lambda: not pilot.app.is_running, "the app to quit")


def box(pilot) -> str:
    return chat(pilot).prompt.text


@pytest.mark.hostile(4, "tui")
async def test_a_draft_in_a_new_conversation_is_back_after_quitting(run_app, settings, ollama_provider, store):
    async with run_app() as pilot:
        await paste(pilot, "half a thought about\nquaternions")
        await quit_app(pilot)  # at once: before the pause that would store it
    again, session = restarted(settings, ollama_provider, store)
    try:
        async with run_app(session) as pilot:
            assert box(pilot) == "half a thought about\nquaternions"
            assert session.conversation.id is None
    finally:
        again.close()


@pytest.mark.hostile(4, "tui")
async def test_a_draft_in_a_stored_conversation_reopens_it_after_quitting(run_app, settings, ollama_provider, store):
    sky = seed(store, SKY)
    seed(store, HAIKU)
    async with run_app() as pilot:
        await open_history(pilot)
        await pilot.press("down", "enter")  # the older one, the sky
        await wait_until(pilot, lambda: chat(pilot).session.conversation.id == sky.id, "the sky conversation")
        await paste(pilot, "And at sunset?")
        await pilot.pause(0.8)  # stored while typing, not only on quitting
        assert store.load_draft(sky.id) == "And at sunset?"
        await quit_app(pilot)
    again, session = restarted(settings, ollama_provider, store)
    try:
        async with run_app(session) as pilot:
            await wait_until(pilot, lambda: session.conversation.id == sky.id, "the conversation with the draft")
            assert box(pilot) == "And at sunset?"
    finally:
        again.close()


@pytest.mark.hostile(4, "tui")
async def test_each_conversation_keeps_its_own_draft_when_switching(run_app, store):
    sky = seed(store, SKY)
    haiku = seed(store, HAIKU)
    async with run_app() as pilot:
        await paste(pilot, "new one's text")
        await chat(pilot).open_conversation(sky.id)
        assert box(pilot) == ""
        await paste(pilot, "sky text")
        await open_history(pilot)
        await pilot.press("enter")  # the newest: the haiku
        await wait_until(pilot, lambda: chat(pilot).session.conversation.id == haiku.id, "the haiku conversation")
        assert box(pilot) == ""
        await paste(pilot, "haiku text")
        await chat(pilot).open_conversation(sky.id)
        assert box(pilot) == "sky text"
        await chat(pilot).open_conversation(haiku.id)
        assert box(pilot) == "haiku text"
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: box(pilot) == "new one's text", "the new conversation's draft")
    assert (store.load_draft(None), store.load_draft(sky.id), store.load_draft(haiku.id)) == (
        "new one's text", "sky text", "haiku text"
    )


@pytest.mark.hostile(4, "tui")
async def test_sending_the_draft_clears_it(run_app, settings, ollama_provider, store):
    async with run_app() as pilot:
        await paste(pilot, "one")
        await pilot.pause(0.8)
        assert store.load_draft(None) == "one"
        await pilot.press("enter")
        await wait_until(pilot, lambda: chat(pilot).session.conversation.id is not None, "the prompt stored")
        await ask(pilot, "two", count=2)
        await quit_app(pilot)
    assert store.latest_draft() is None
    again, session = restarted(settings, ollama_provider, store)
    try:
        async with run_app(session) as pilot:
            assert box(pilot) == "" and session.conversation.id is None
    finally:
        again.close()

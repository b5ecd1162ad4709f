"""A damaged page inside the database, met in the app: the history list, its search, opening a
conversation and sending into one each say so in one line naming the database and offering
`r1chat doctor`; the app goes on, and nothing changes on disk."""

from __future__ import annotations

import sqlite3

import pytest

from r1chat.session import ChatSession
from r1chat.store import Store
from r1chat.ui.screens.chat import ChatScreen
from r1chat.ui.screens.history import HistoryScreen
from tests.damage import damage_page, damaged_database, fill, on_disk
from tests.ui.conftest import paste, wait_until
from tests.ui.test_chat_screen import banner_text, chat, chats
from tests.ui.test_history_screen import status


@pytest.fixture
def damaged_app(tmp_path, settings, ollama_provider, run_app):
    """``async with damaged_app(table) as (pilot, path)``: the app on a database with a page of
    ``table`` damaged (found later, not on open)."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def run(table: str = "messages"):
        path = damaged_database(tmp_path / "damaged" / "r1chat.db", table)
        store = Store(path)
        assert store.moved_aside is None
        try:
            async with run_app(ChatSession(settings, store, ollama_provider)) as pilot:
                yield pilot, path
        finally:
            store.close()

    return run


def names_the_damage(text: str, path) -> bool:
    return f"The database {path} is damaged" in text and "r1chat doctor" in text


async def history(pilot) -> HistoryScreen:
    await pilot.press("ctrl+g")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen), "the history screen")
    return pilot.app.screen


@pytest.mark.hostile(9, "tui")
async def test_the_history_list_over_a_damaged_page_says_so(damaged_app):
    async with damaged_app("conversations") as (pilot, path):
        before = on_disk(path.parent, log=True)
        screen = await history(pilot)
        await wait_until(pilot, lambda: names_the_damage(status(screen), path), "the damage named")
        assert on_disk(path.parent, log=True) == before


@pytest.mark.hostile(9, "tui")
async def test_searching_over_a_damaged_page_says_so(damaged_app):
    async with damaged_app() as (pilot, path):
        before = on_disk(path.parent, log=True)
        screen = await history(pilot)
        await wait_until(pilot, lambda: "conversation" in status(screen), "the list")
        await paste(pilot, "answer")
        await wait_until(pilot, lambda: names_the_damage(status(screen), path), "the damage named")
        assert pilot.app.is_running
        assert on_disk(path.parent, log=True) == before


@pytest.mark.hostile(9, "tui")
@pytest.mark.slow  # a database large enough to damage one page of it
async def test_opening_a_conversation_on_a_damaged_page_says_so_and_the_app_goes_on(damaged_app, ollama):
    async with damaged_app() as (pilot, path):
        before = on_disk(path.parent, log=True)
        opened_any_damaged = False
        for row in range(5):  # one of them lives on the damaged page
            listed = await history(pilot)
            await wait_until(pilot, lambda listed=listed: "conversation" in status(listed), "the list")
            for _ in range(row):
                await pilot.press("down")
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), "the chat screen")
            await pilot.pause()
            if names_the_damage(banner_text(pilot), path):
                opened_any_damaged = True
                break
        assert opened_any_damaged
        assert "ctrl+q" in banner_text(pilot)
        assert pilot.app.is_running
        assert on_disk(path.parent, log=True) == before


@pytest.mark.hostile(9, "tui")
async def test_sending_into_a_conversation_whose_page_was_damaged_keeps_the_prompt_and_sends_nothing(
    tmp_path, settings, ollama_provider, run_app, ollama
):
    path = tmp_path / "damaged" / "r1chat.db"
    path.parent.mkdir()
    fill(path)
    store = Store(path)
    try:
        async with run_app(ChatSession(settings, store, ollama_provider)) as pilot:
            await chat(pilot).open_conversation(1)
            assert chat(pilot).session.conversation.id == 1
            # The disk fails under the conversation's own row (one page holds them all), which
            # storing a prompt updates.
            damage_page(path, "conversations")
            other = Store(path)  # another window writes elsewhere: the app reads the file afresh
            other.save_draft(None, "elsewhere")
            other.close()
            requests = len(chats(ollama))
            before = on_disk(path.parent), stored(path)
            await paste(pilot, "and then?")
            await pilot.press("enter")
            await wait_until(pilot, lambda: names_the_damage(banner_text(pilot), path), "the damage named")
            assert chat(pilot).prompt.text == "and then?"
            assert len(chats(ollama)) == requests
            # The transaction was rolled back: SQLite may leave its pages in the log, uncommitted,
            # which no reader sees; the file and what any reader finds are as they were.
            assert (on_disk(path.parent), stored(path)) == before
            assert pilot.app.is_running
    finally:
        store.close()


def stored(path) -> list[tuple]:
    """Every message as a fresh reader finds it (the damaged page holds no message)."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return db.execute("SELECT id, conversation_id, content, status FROM messages ORDER BY id").fetchall()
    finally:
        db.close()

"""What the chat app writes or takes in that is not the screen: exported files, the clipboard,
toasts, and pastes. No control sequence of a model's or a prompt's goes out; a paste comes in
as text."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Input

from r1chat.session import ChatSession
from r1chat.ui.screens.history import ExportScreen, HistoryScreen
from r1chat.ui.window_offer import WindowOffer
from tests.hostile_text import RAW, assert_clean, hostile
from tests.ui.conftest import paste, wait_until
from tests.ui.test_chat_screen import chat, chats, finished, notes, stored
from tests.ui.test_history_screen import open_history, seed

TURN = (hostile("Prompt about kettles"), hostile("Trace thinking hard"), hostile("Answer with a link"))
TITLE = hostile("Title of kettles")
WORDS = ("Title of kettles", "Prompt about kettles", "Trace thinking hard", "Answer", "with a link", "reversed")


# --- out: files, clipboard, toasts (item 6) ---------------------------------------------------


@pytest.fixture
def documents(tmp_path, monkeypatch):
    folder = tmp_path / "Documents"
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(folder))
    return folder


@pytest.mark.hostile(6, "tui")
async def test_the_export_dialog_writes_markdown_and_json_without_sequences(run_app, store, documents, tmp_path):
    seed(store, TURN, title=TITLE)
    async with run_app() as pilot:
        screen = await open_history(pilot)
        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ExportScreen), "the export dialog")
        assert not RAW.search(pilot.app.screen.query_one("#path", Input).value)  # named from the words
        await pilot.press("enter")
        await wait_until(pilot, lambda: pilot.app.screen is screen, "the history screen")
        [written] = documents.iterdir()
        assert_clean(written.name, "title-of-kettles")
        assert_clean(written.read_text(), *WORDS)
        assert all(not RAW.search(n) for n in notes(pilot))  # "Exported to ..."

        target = tmp_path / "out.json"
        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ExportScreen), "the export dialog")
        pilot.app.screen.format = "json"
        pilot.app.screen.query_one("#path", Input).value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, lambda: target.exists(), "the JSON file")
        text = target.read_text()
        assert not RAW.search(text)  # escaped, and the text kept whole
        assert [m["content"] for m in json.loads(text)["messages"]] == [TURN[0], TURN[2]]


@pytest.mark.hostile(6, "tui")
async def test_copying_an_answer_puts_its_words_on_the_clipboard_not_its_sequences(run_app, store, settings, ollama_provider):
    conversation = seed(store, TURN, title=TITLE)
    session = ChatSession(settings, store, ollama_provider, conversation=store.load_conversation(conversation.id))
    async with run_app(session) as pilot:
        await pilot.press("f3")
        await wait_until(pilot, lambda: pilot.app.clipboard, "the copy")
        assert_clean(pilot.app.clipboard, "Answer", "with a link", "reversed")


@pytest.mark.hostile(6, "tui")
async def test_a_toast_of_server_text_shows_no_sequence(run_app):
    async with run_app() as pilot:
        # Every toast passes through App.notify (a screen's notify calls it): a server's error text.
        chat(pilot).notify(hostile("Ollama said no"), title=hostile("Pull failed"), markup=False)
        await pilot.pause()
        [note] = pilot.app._notifications
        assert_clean(note.message, "Ollama said no", "reversed")
        assert_clean(note.title, "Pull failed")


# --- in: pastes (item 7) ------------------------------------------------------------------------


@pytest.mark.hostile(7, "tui")
async def test_a_paste_with_control_characters_is_text_and_opens_nothing(run_app, session, ollama):
    async with run_app(session) as pilot:
        await paste(pilot, "first\x07 line\r\nsecond\x1b[31m line\x1b[0m\rthird\x1b\x1b]0;t\x07\tend\x00\x08")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, HistoryScreen)  # a BEL is not Ctrl+G
        prompt = chat(pilot).prompt
        assert prompt.text == "first line\nsecond line\nthird\tend"
        await pilot.press("enter")
        await wait_until(pilot, lambda: finished(pilot, 1), "the answer", timeout=20)
        assert stored(session)[0].content == "first line\nsecond line\nthird\tend"


@pytest.mark.hostile(7, "tui")
async def test_a_one_megabyte_paste_with_cr_line_endings_is_sent_and_stored_with_newlines(run_app, session, ollama):
    lines = [f"line {n}: all work and no play makes Jack a dull boy" for n in range(20_000)]
    pasted = "\r".join(lines)
    assert len(pasted) > 1_000_000
    async with run_app(session) as pilot:
        await paste(pilot, pasted)
        prompt = chat(pilot).prompt
        assert prompt.text.startswith("[pasted text #1: 20,000 lines")  # counted as lines, not one
        await pilot.press("enter")
        # A megabyte is past the window: send it anyway (the fake server cuts nothing of one message).
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, WindowOffer), "the window question")
        await pilot.press("s")
        await wait_until(pilot, lambda: chats(ollama) and finished(pilot, 1), "the answer", timeout=30)
        expected = "\n".join(lines)
        assert chats(ollama)[-1].json["messages"][-1]["content"] == expected
        assert stored(session)[0].content == expected


@pytest.mark.hostile(7, "tui")
async def test_a_paste_into_the_history_search_is_cleaned_too(run_app, store):
    seed(store, ("Why is the sky blue?", "Rayleigh.", "Scattering."))
    async with run_app() as pilot:
        screen = await open_history(pilot)
        await paste(pilot, "sky\x07\x1b[2J")
        await pilot.pause()
        assert pilot.app.screen is screen
        assert screen.query_one(Input).value == "sky"

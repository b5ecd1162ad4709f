"""A full disk and a stalled stream: nothing the model sent is lost. The engine end to end over the
fake Ollama and a real SQLite file made full with ``PRAGMA max_page_count`` (no root needed)."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest

from r1chat import recovery
from r1chat.backends.base import Reasoning
from r1chat.config import load_settings
from r1chat.conversation import MessageStatus, Role
from r1chat.session import ChatSession, SavingChanged
from r1chat.store import Store, StoreError
from tests.conftest import ANSWER
from tests.servers import OllamaFault

# ~24 kB, so saving it needs new pages; words in no repeating order, or the loop guard speaks up.
_WORDS = "seventeen times twenty three carry the one so check again digits sum product tens units".split()
LONG_TRACE = " ".join(random.Random(17).choice(_WORDS) for _ in range(4000)) + "."


@pytest.fixture
async def session(store, ollama):
    settings = load_settings()
    provider = settings.provider_config("ollama")
    provider.url = ollama.url
    ollama.find("deepseek-r1:8b")[1].reasoning = LONG_TRACE
    session = ChatSession(settings, store, provider, model="deepseek-r1:8b")
    yield session
    await session.aclose()


def fill_disk(store: Store) -> None:
    """No page more than the file has now: any write that needs one fails as on a full disk."""
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")


def free_space(store: Store) -> None:
    store._db.execute("PRAGMA max_page_count = 1073741823")


def full_when_the_trace_starts(session: ChatSession) -> list:
    """The disk fills at the answer's first piece; the events a front end would hear."""
    events: list = []

    def hear(event) -> None:
        if isinstance(event, Reasoning) and not any(isinstance(e, Reasoning) for e in events):
            fill_disk(session.store)
        events.append(event)

    session.subscribe(hear)
    return events


def stored(path: Path) -> list:
    """Every message in the file, read as the next start of r1chat would."""
    reader = Store(path)
    try:
        return [m for s in reader.list_conversations() for m in reader.load_conversation(s.id).messages]
    finally:
        reader.close()


@pytest.mark.hostile(1, "core")
async def test_a_full_disk_mid_answer_loses_nothing_once_space_returns(session, store):
    events = full_when_the_trace_starts(session)
    answer = await session.send("What is 17 * 23?")
    # The answer streamed to its end; saving failed, and the engine said so once.
    assert answer.status is MessageStatus.DONE and (answer.reasoning, answer.content) == (LONG_TRACE, ANSWER)
    changes = [e for e in events if isinstance(e, SavingChanged)]
    assert len(changes) == 1 and "full" in str(changes[0].error)
    assert session.save_error is not None
    on_disk = [m for m in stored(store.path) if m.role is Role.ASSISTANT]
    assert on_disk[0].status is MessageStatus.STREAMING and on_disk[0].reasoning != LONG_TRACE
    # Space returns; the next answer's saves write the earlier one whole too.
    free_space(store)
    second = await session.send("And 17 * 24?")
    assert [e.error for e in events if isinstance(e, SavingChanged)][1:] == [None]
    assert session.save_error is None and session.save_unsaved() == [] and not store.unsaved
    first, again = [m for m in stored(store.path) if m.role is Role.ASSISTANT]
    assert (first.status, first.reasoning, first.content) == (MessageStatus.DONE, LONG_TRACE, ANSWER)
    assert (again.status, again.content) == (MessageStatus.DONE, second.content)


@pytest.mark.hostile(1, "core")
async def test_space_that_returns_before_exit_saves_the_answer_at_exit(session, store):
    full_when_the_trace_starts(session)
    await session.send("What is 17 * 23?")
    free_space(store)
    assert session.save_unsaved() == []
    answer = [m for m in stored(store.path) if m.role is Role.ASSISTANT][0]
    assert (answer.status, answer.reasoning, answer.content) == (MessageStatus.DONE, LONG_TRACE, ANSWER)


@pytest.mark.hostile(1, "core")
async def test_an_answer_the_disk_never_takes_goes_to_a_recovery_file(session, store, isolated_dirs):
    full_when_the_trace_starts(session)
    await session.send("What is 17 * 23?")
    left = session.save_unsaved()
    assert len(left) == 1
    lines = recovery.keep(left, str(session.save_error))
    assert len(lines) == 1 and "kept in" in lines[0]
    path = Path(lines[0].rsplit("kept in ", 1)[1])
    assert path.parent == isolated_dirs / "state" / "r1chat" / "recovery"
    text = path.read_text()
    for held in ("What is 17 * 23?", LONG_TRACE.strip(), ANSWER, "deepseek-r1:8b", f"Conversation {left[0].conversation.id}",
                 "database or disk is full"):
        assert held in text
    assert path.stat().st_mode & 0o777 == 0o600


def _blocked(tmp_path: Path, name: str) -> Path:
    """A folder that cannot be made, even by root: its parent is a regular file."""
    parent = tmp_path / f"{name}-is-a-file"
    parent.write_text("not a folder")
    return parent / "recovery"


@pytest.mark.hostile(1, "core")
async def test_the_recovery_file_falls_back_to_the_next_place_then_to_the_text_itself(session, store, tmp_path):
    full_when_the_trace_starts(session)
    await session.send("What is 17 * 23?")
    left = session.save_unsaved()
    spare = tmp_path / "spare"
    lines = recovery.keep(left, where=[_blocked(tmp_path, "state"), spare])
    path = Path(lines[0].rsplit("kept in ", 1)[1])
    assert path.parent == spare and ANSWER in path.read_text()
    # No place takes it: the text itself, to be printed.
    lines = recovery.keep(left, where=[_blocked(tmp_path, "state"), _blocked(tmp_path, "tmp")])
    assert "here it is" in lines[0] and LONG_TRACE.strip() in lines[1] and ANSWER in lines[1]


def test_a_recovery_file_never_overwrites_another(tmp_path):
    first = recovery.write_recovery("one", [tmp_path])
    second = recovery.write_recovery("two", [tmp_path])
    assert first != second and first.read_text() == "one" and second.read_text() == "two"


@pytest.mark.hostile(2, "core")
async def test_a_prompt_that_cannot_be_stored_is_not_sent_and_raises(session, store, ollama):
    fill_disk(store)
    with pytest.raises(StoreError, match="full"):
        await session.send("A long prompt pasted in. " * 400)
    assert stored(store.path) == [] and store.list_conversations() == [] and session.conversation.id is None
    assert not session.streaming and session.turn is None
    assert not [r for r in ollama.requests if r.path == "/api/chat"]


@pytest.mark.hostile(3, "core")
async def test_a_stalled_stream_is_saved_by_the_clock(session, store, ollama):
    ollama.find("deepseek-r1:8b")[1].reasoning = "Okay, 17 * 23. 17 * 20 = 340, 17 * 3 = 51, so 391."
    ollama.fault = OllamaFault(stall_after=6)
    heard: list[str] = []
    session.subscribe(lambda event: heard.append(event.text) if isinstance(event, Reasoning) else None)
    sending = asyncio.ensure_future(session.send("What is 17 * 23?"))
    try:
        deadline = time.monotonic() + 10
        while len(heard) < 5 and time.monotonic() < deadline:  # the stall begins
            await asyncio.sleep(0.05)
        arrived = "".join(heard)
        assert arrived
        # No event comes now; the clock saves what arrived within about a second.
        deadline = time.monotonic() + 5  # a save a second; generous under load
        reasoning = ""
        while time.monotonic() < deadline:
            answers = [m for m in stored(store.path) if m.role is Role.ASSISTANT]
            reasoning = answers[0].reasoning if answers else ""
            if reasoning == arrived:
                break
            await asyncio.sleep(0.1)
        assert reasoning == arrived and "".join(heard) == arrived
    finally:
        session.stop()
        await asyncio.wait([sending], timeout=10)


@pytest.mark.hostile(2, "core")
async def test_a_prompt_whose_answer_cannot_be_stored_is_not_stored_either(session, store):
    # SQLite refuses exactly the answer's row, as a disk that fills between the two would.
    store._db.execute(
        "CREATE TEMP TRIGGER refuse_answers BEFORE INSERT ON messages WHEN new.role = 'assistant'"
        " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    )
    with pytest.raises(StoreError, match="full"):
        await session.send("What is 17 * 23?")
    assert stored(store.path) == [] and store.list_conversations() == []
    assert session.conversation.messages == [] and session.conversation.id is None
    store._db.execute("DROP TRIGGER refuse_answers")
    await session.send("What is 17 * 23?")  # sent again from the box: stored once
    assert [m.role for m in stored(store.path)] == [Role.USER, Role.ASSISTANT]
    assert [m.role for m in session.conversation.messages] == [Role.USER, Role.ASSISTANT]

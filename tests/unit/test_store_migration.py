"""The migration to versions and typed parts, on a real database written by r1chat at 4e3aaf5 (the
schema before it), with its last writes still in the write-ahead log; and parts and versions
stored and read back."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from r1chat.conversation import (
    Conversation,
    Message,
    MessageStatus,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from r1chat.store import SCHEMA, Store, StoreError, _migration_6

DATA = Path(__file__).parent / "data"
FIXTURE = "r1chat-4e3aaf5"
EXPECTED = json.loads((DATA / f"{FIXTURE}.json").read_text(encoding="utf-8"))


@pytest.fixture
def old_database(tmp_path: Path) -> Path:
    """A copy of the fixture: the main file and its write-ahead log, as a crash would leave them."""
    path = tmp_path / "data" / "r1chat.db"
    path.parent.mkdir()
    shutil.copyfile(DATA / f"{FIXTURE}.db", path)
    shutil.copyfile(DATA / f"{FIXTURE}.db-wal", Path(f"{path}-wal"))
    return path


def conversation_ids(path: Path) -> list[int]:
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return [row[0] for row in db.execute("SELECT id FROM conversations ORDER BY id")]
    finally:
        db.close()


def test_the_fixture_keeps_two_conversations_only_in_its_write_ahead_log(tmp_path):
    alone = tmp_path / "alone.db"
    shutil.copyfile(DATA / f"{FIXTURE}.db", alone)
    assert conversation_ids(alone) == [1, 2]
    assert [c["id"] for c in EXPECTED["conversations"]] == [1, 2, 3, 4]
    assert EXPECTED["user_version"] == 2 < SCHEMA


def test_every_conversation_trace_and_stat_survives_the_migration(old_database):
    store = Store(old_database)
    try:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA
        for expected in EXPECTED["conversations"]:
            loaded = store.load_conversation(expected["id"]).to_dict()
            for key, value in expected.items():
                if key != "messages":
                    assert loaded[key] == value, (expected["id"], key)
            assert len(loaded["messages"]) == len(expected["messages"])
            for old, new in zip(expected["messages"], loaded["messages"], strict=True):
                assert {key: new[key] for key in old if key != "stats"} == {k: v for k, v in old.items() if k != "stats"}
                # Figures kept since the fixture was made are new keys with their defaults.
                assert {key: new["stats"][key] for key in old["stats"]} == old["stats"]
                assert new["current"] is True  # one version each, as they were
    finally:
        store.close()


def test_the_old_exchanges_read_as_one_version_each(old_database):
    store = Store(old_database)
    try:
        conversation = store.load_conversation(1)
        assert [len(e.versions) for e in conversation.exchanges()] == [1, 1]
        assert conversation.current_messages() == conversation.messages
        interrupted = store.load_conversation(2).messages[-1]
        assert interrupted.status is MessageStatus.INTERRUPTED and interrupted.reasoning and interrupted.content
    finally:
        store.close()


def test_the_copy_made_before_migrating_holds_everything_and_opens(old_database, tmp_path):
    store = Store(old_database)
    store.close()
    (copy,) = (old_database.parent / "backups").iterdir()
    assert copy.name.startswith("r1chat-schema2-") and copy.suffix == ".db"
    assert str(copy) in store.upgrade_notice
    assert conversation_ids(copy) == [1, 2, 3, 4]  # what was only in the log is in the copy too
    db = sqlite3.connect(copy)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    db.close()
    elsewhere = tmp_path / "restored" / "r1chat.db"  # put back by hand, it opens as the database
    elsewhere.parent.mkdir()
    shutil.copyfile(copy, elsewhere)
    assert Store(elsewhere).load_conversation(4).title == EXPECTED["conversations"][3]["title"]


def test_search_finds_old_text_after_the_migration(old_database):
    store = Store(old_database)
    try:
        assert {hit.conversation_id for hit in store.search("quaternion")} == {4}
    finally:
        store.close()


def test_without_room_for_the_copy_nothing_is_migrated_and_the_database_opens_read_only(old_database):
    (old_database.parent / "backups").write_text("a file where the folder of copies would go")
    store = Store(old_database)
    try:
        assert store.read_only is not None
        notice = store.open_notice
        assert "\n" not in notice and "read-only" in notice and "backups" in notice
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == 2
        assert store.load_conversation(1).to_dict()["title"] == EXPECTED["conversations"][0]["title"]
        assert [s.id for s in store.list_conversations()] == [4, 3, 2, 1]
        with pytest.raises(StoreError, match="read-only"):
            store.add_message(Conversation(), Message(Role.USER, "not now"))
        assert store.recover_interrupted() == 0
    finally:
        store.close()
    (old_database.parent / "backups").unlink()
    store = Store(old_database)  # room again: it migrates
    try:
        assert store.read_only is None and store.upgrade_notice is not None
    finally:
        store.close()


def test_a_new_database_needs_no_copy(tmp_path):
    store = Store(tmp_path / "r1chat.db")
    store.close()
    assert store.upgrade_notice is None and not (tmp_path / "backups").exists()


# --- parts and versions, stored --------------------------------------------------------------------


def test_parts_come_back_in_order_with_each_segments_timing_and_tokens(tmp_path):
    store = Store(tmp_path / "r1chat.db")
    conversation = Conversation()
    store.add_message(conversation, Message(Role.USER, "weather?"))
    parts = [
        ReasoningPart("I should look it up. ", started_at=1.0, ended_at=2.0, tokens=6),
        ToolCallPart("call_1", "get_weather", {"city": "Paris", "days": [1, 2]}),
        ToolResultPart("call_1", "get_weather", "18°C", is_error=False),
        ReasoningPart("18 degrees, fine.", started_at=3.0, ended_at=3.5, tokens=4),
        TextPart("It is 18°C in Paris."),
    ]
    answer = Message(Role.ASSISTANT, parts=parts)
    store.add_message(conversation, answer)
    store.close()
    again = Store(tmp_path / "r1chat.db").load_conversation(conversation.id).messages[1]
    assert again.parts == parts
    assert again.reasoning == "I should look it up. 18 degrees, fine." and again.content == "It is 18°C in Paris."
    assert again.reasoning_seconds == 1.5


def test_a_layout_that_does_not_fit_the_text_falls_back_to_the_text(tmp_path):
    store = Store(tmp_path / "r1chat.db")
    conversation = Conversation()
    answer = Message(Role.ASSISTANT, "answer", reasoning="trace", reasoning_started_at=1.0, reasoning_ended_at=2.0)
    store.add_message(conversation, answer)
    # Another program rewrote the answer without knowing of the layout.
    store._db.execute("UPDATE messages SET content = 'a longer answer' WHERE id = ?", (answer.id,))
    loaded = store.load_conversation(conversation.id).messages[0]
    assert (loaded.reasoning, loaded.content) == ("trace", "a longer answer")
    store.close()


def test_making_a_version_current_is_stored_and_the_others_stay(tmp_path):
    store = Store(tmp_path / "r1chat.db")
    conversation = Conversation()
    prompt = Message(Role.USER, "q")
    store.add_message(conversation, prompt)
    first = Message(Role.ASSISTANT, "first", exchange_id=prompt.id, reply_to=prompt.id)
    store.add_message(conversation, first)
    second = Message(Role.ASSISTANT, "second", exchange_id=prompt.id, reply_to=prompt.id, current=False)
    store.add_message(conversation, second)
    conversation.messages = [prompt, first, second]
    (exchange,) = conversation.exchanges()
    assert exchange.current == 0
    store.make_current(exchange, 1)
    reloaded = store.load_conversation(conversation.id)
    assert [m.content for m in reloaded.messages] == ["q", "first", "second"]
    assert [m.content for m in reloaded.current_messages()] == ["q", "second"]
    store.close()


# --- schema 4: drafts --------------------------------------------------------------------------


def test_a_schema_3_database_gets_drafts_after_a_copy_and_keeps_everything(tmp_path):
    from r1chat.store import MIGRATIONS

    path = tmp_path / "r1chat.db"
    db = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:3]:
        migration(db)
    db.execute("PRAGMA user_version = 3")
    db.execute("INSERT INTO conversations (title, created_at, updated_at) VALUES ('kept', 1, 1)")
    db.close()
    store = Store(path)
    try:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA >= 4
        assert store.upgraded_copy is not None and store.upgraded_copy.name.startswith("r1chat-schema3-")
        assert [c.title for c in store.list_conversations()] == ["kept"]
        store.save_draft(1, "half typed")
        store.save_draft(None, "in a new one")
        assert (store.load_draft(1), store.load_draft(None)) == ("half typed", "in a new one")
        assert store.latest_draft() == (None, "in a new one")
        store.save_draft(None, "  ")  # blank: no draft
        assert store.latest_draft() == (1, "half typed")
        store.delete_conversation(1)  # its draft goes with it
        assert store.load_draft(1) == "" and store.latest_draft() is None
    finally:
        store.close()
    copy = sqlite3.connect(store.upgraded_copy)
    assert copy.execute("PRAGMA user_version").fetchone()[0] == 3
    assert copy.execute("SELECT title FROM conversations").fetchall() == [("kept",)]
    copy.close()


def test_the_old_fixture_migrates_through_to_drafts(old_database):
    store = Store(old_database)
    try:
        store.save_draft(4, "more on quaternions")
        assert store.load_draft(4) == "more on quaternions"
    finally:
        store.close()


# --- migration 6: compare columns, eval runs -------------------------------------------------


def test_a_database_before_compare_and_eval_gets_them_and_keeps_every_message(tmp_path):
    from r1chat.store import MIGRATIONS

    path = tmp_path / "r1chat.db"
    db = sqlite3.connect(path, isolation_level=None)
    before = MIGRATIONS.index(_migration_6)
    for migration in MIGRATIONS[:before]:
        migration(db)
    db.execute(f"PRAGMA user_version = {before}")
    db.execute("INSERT INTO conversations (title, created_at, updated_at) VALUES ('kept', 1, 1)")
    db.execute("INSERT INTO messages (conversation_id, role, content, status, created_at) VALUES (1, 'user', 'hi', 'done', 1)")
    db.close()
    store = Store(path)
    try:
        assert store.upgraded_copy is not None
        [message] = store.load_conversation(1).messages
        assert (message.content, message.column) == ("hi", None)
        run = store.add_eval_run("key", "m", "ollama", 1, {"samples": 1})
        store.save_eval_sample(run, "p1#abc", 0, {"correct": True})
        assert store.eval_samples(run) == {("p1#abc", 0): {"correct": True}}
        assert store.latest_eval_run("key")[0] == run
        assert [c.title for c in store.list_conversations()] == ["kept"]  # eval runs are no conversations
    finally:
        store.close()

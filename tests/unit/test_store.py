import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from r1chat import store as store_module
from r1chat.backends.base import TurnStats
from r1chat.conversation import Conversation, Message, MessageStatus, Role
from r1chat.store import MIGRATIONS, Store, StoreError


def test_store_lives_in_the_user_data_dir_and_honours_xdg_data_home(data_dir):
    from r1chat.store import default_path

    assert default_path() == data_dir / "r1chat.db"


def test_answer_and_trace_are_kept_apart_with_model_provider_timings_and_stats(store, tmp_path):
    conversation = Conversation(title="sums")
    store.add_message(conversation, Message(Role.USER, "17*23?"))
    stats = TurnStats(prompt_tokens=12, completion_tokens=80, eval_seconds=2.0, finish_reason="stop")
    message = Message(
        Role.ASSISTANT,
        "391",
        reasoning="17*20=340",
        model="deepseek-r1:8b",
        provider="ollama",
        reasoning_started_at=10.0,
        reasoning_ended_at=12.5,
        first_token_at=10.0,
        finished_at=13.0,
        stats=stats,
    )
    store.add_message(conversation, message)

    reopened = Store(tmp_path / "r1chat.db")
    loaded = reopened.load_conversation(conversation.id)
    reopened.close()
    assert loaded.title == "sums"
    user, assistant = loaded.messages
    assert (user.role, user.content) == (Role.USER, "17*23?")
    assert (assistant.content, assistant.reasoning) == ("391", "17*20=340")
    assert (assistant.model, assistant.provider) == ("deepseek-r1:8b", "ollama")
    assert assistant.reasoning_seconds == pytest.approx(2.5)
    assert assistant.stats.completion_tokens == 80
    assert assistant.stats.tokens_per_second == pytest.approx(40.0)
    raw = sqlite3.connect(tmp_path / "r1chat.db").execute(
        "SELECT content, reasoning FROM messages WHERE role='assistant'"
    ).fetchone()
    assert raw == ("391", "17*20=340")


def test_database_uses_wal_and_a_schema_version(store, tmp_path):
    db = sqlite3.connect(tmp_path / "r1chat.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] >= 1


def test_a_database_from_a_newer_r1chat_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "new.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="newer r1chat"):
        Store(path)


def test_a_corrupt_database_is_moved_aside_and_a_fresh_one_started(tmp_path):
    path = tmp_path / "r1chat.db"
    path.write_bytes(b"this is not a database at all" * 100)
    store = Store(path)
    assert store.moved_aside is not None and store.moved_aside.exists()
    assert store.moved_aside.read_bytes().startswith(b"this is not a database")
    assert ".corrupt-" in store.moved_aside.name
    assert store.latest_conversation_id() is None
    store.close()


def test_an_unwritable_data_directory_gives_a_store_error(tmp_path):
    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_text("x")
        with pytest.raises(StoreError, match="data directory"):
            Store(blocker / "sub" / "r1chat.db")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(StoreError):
            Store(locked / "sub" / "r1chat.db")


def test_conversations_list_newest_first_with_message_counts(store):
    first, second = Conversation(title="one"), Conversation(title="two")
    store.add_message(first, Message(Role.USER, "a"))
    store.add_message(second, Message(Role.USER, "b"))
    store.add_message(second, Message(Role.ASSISTANT, "c"))
    summaries = store.list_conversations()
    assert [(s.title, s.message_count) for s in summaries] == [("two", 2), ("one", 1)]
    assert store.latest_conversation_id() == second.id
    store.add_message(first, Message(Role.USER, "again"))
    assert store.latest_conversation_id() == first.id


@pytest.mark.process
def test_streaming_message_of_a_dead_process_becomes_interrupted_with_its_text(store, tmp_path):
    conversation = Conversation()
    message = Message(Role.ASSISTANT, "half an ans", reasoning="thinking", status=MessageStatus.STREAMING)
    store.add_message(conversation, message)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    sqlite3.connect(tmp_path / "r1chat.db", isolation_level=None).execute(
        "UPDATE messages SET writer_pid = ? WHERE id = ?", (dead_pid, message.id)
    )
    assert store.recover_interrupted() == 1
    loaded = store.load_conversation(conversation.id).messages[0]
    assert loaded.status is MessageStatus.INTERRUPTED
    assert (loaded.content, loaded.reasoning) == ("half an ans", "thinking")
    assert store.recover_interrupted() == 0


@pytest.mark.process
def test_streaming_message_of_a_live_process_is_left_alone(store, tmp_path):
    conversation = Conversation()
    message = Message(Role.ASSISTANT, "still coming", status=MessageStatus.STREAMING)
    store.add_message(conversation, message)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        sqlite3.connect(tmp_path / "r1chat.db", isolation_level=None).execute(
            "UPDATE messages SET writer_pid = ? WHERE id = ?", (alive.pid, message.id)
        )
        assert store.recover_interrupted() == 0
        assert store.load_conversation(conversation.id).messages[0].status is MessageStatus.STREAMING
    finally:
        alive.kill()
        alive.wait()
    assert store.recover_interrupted() == 1


_WRITER = """
import sys
from r1chat.conversation import Conversation, Message, Role
from r1chat.store import Store
store = Store(sys.argv[1])
for n in range(int(sys.argv[2])):
    conversation = Conversation(title=f"{sys.argv[3]}-{n}")
    store.add_message(conversation, Message(Role.USER, "q"))
    answer = Message(Role.ASSISTANT, "")
    store.add_message(conversation, answer)
    for i in range(5):
        answer.content += "x"
        store.save_message(answer)
store.close()
"""


@pytest.mark.process
def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "shared.db"
    Store(path).close()
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), "40", name], stderr=subprocess.PIPE, text=True)
        for name in ("left", "right")
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert "locked" not in err
    store = Store(path)
    titles = {s.title for s in store.list_conversations(limit=1000)}
    assert len(titles) == 80
    assert all(s.message_count == 2 for s in store.list_conversations(limit=1000))
    store.close()


def test_a_write_that_sqlite_refuses_is_a_store_error_naming_the_file(store, tmp_path):
    conversation = Conversation()
    store.add_message(conversation, Message(Role.USER, "kept"))
    store._db.execute("PRAGMA query_only = 1")  # what a read-only file or a full disk looks like
    with pytest.raises(StoreError, match="Cannot write to .*r1chat.db"):
        store.add_message(conversation, Message(Role.USER, "refused"))
    store._db.execute("PRAGMA query_only = 0")
    assert [m.content for m in store.load_conversation(conversation.id).messages] == ["kept"]


# --- schema upgrades, the search index, the history list -------------------------------------

SCHEMA_1_DB = Path(__file__).parent / "data" / "schema1.db"


def test_a_database_written_by_the_first_schema_is_upgraded_and_keeps_everything(tmp_path):
    # schema1.db was written by the Store of the first schema (r1chat/store.py at b5276b3, whose
    # MIGRATIONS was schema 1 alone): one conversation with a prompt and an answer streamed in two
    # saves with its trace, stats and timings, and one with a prompt only.
    path = tmp_path / "r1chat.db"
    shutil.copy(SCHEMA_1_DB, path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1

    store = Store(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) >= 2
    first, second = sorted(store.list_conversations(), key=lambda c: c.id)
    assert (first.title, first.message_count, first.models) == ("Rotating a vector with a quaternion", 2, ("deepseek-r1:8b",))
    assert (second.title, second.message_count, second.models) == ("Second conversation", 1, ())
    user, answer = store.load_conversation(first.id).messages
    assert user.content == "How do I rotate a vector with a quaternion?"
    assert answer.content.startswith("Form the pure quaternion") and answer.reasoning.startswith("The user wants")
    assert answer.status is MessageStatus.DONE and answer.stats.completion_tokens == 120
    assert answer.reasoning_seconds == pytest.approx(1.5)

    assert [(h.message_id, h.where) for h in store.search("rodrigues")] == [(answer.id, "trace")]
    assert [(h.message_id, h.where) for h in store.search("hamilton sandwich")] == [(answer.id, "answer")]
    assert [h.conversation_id for h in store.search("ellipsoid")] == [second.id]
    store.close()


def integrity_check(path):
    db = sqlite3.connect(path)
    try:
        for table in ("search_titles", "search_messages"):
            # rank = 1: also compare the index with the text in the content table.
            db.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)")
    finally:
        db.close()


def test_the_search_index_stays_exactly_in_step_with_every_write(store, tmp_path):
    conversation = Conversation(title="first title")
    store.add_message(conversation, Message(Role.USER, "prompt text"))
    answer = Message(Role.ASSISTANT, status=MessageStatus.STREAMING)
    store.add_message(conversation, answer)
    for n in range(20):
        answer.reasoning += f"step{n} "
        store.save_message(answer)
    answer.content, answer.status = "done text", MessageStatus.DONE
    store.save_message(answer)
    answer.stats = TurnStats(completion_tokens=5)
    store.save_message(answer)  # same text: nothing to re-index
    store.rename_conversation(conversation.id, "second title")
    other = Conversation(title="other")
    store.add_message(other, Message(Role.USER, "to delete"))
    store.add_message(other, Message(Role.ASSISTANT, "gone", status=MessageStatus.INTERRUPTED))
    integrity_check(tmp_path / "r1chat.db")
    store.delete_conversation(other.id)
    store._db.execute("DELETE FROM messages WHERE id = ?", (answer.id,))  # as another program might
    integrity_check(tmp_path / "r1chat.db")
    db = sqlite3.connect(tmp_path / "r1chat.db")
    assert db.execute("SELECT count(*) FROM search_messages").fetchone()[0] == 1  # the prompt
    assert db.execute("SELECT count(*) FROM search_titles").fetchone()[0] == 1


def test_without_fts5_search_falls_back_and_the_index_is_built_when_fts5_is_there(tmp_path, monkeypatch):
    path = tmp_path / "r1chat.db"
    monkeypatch.setattr(store_module, "fts5_available", lambda: False)
    store = Store(path)
    store.add_message(Conversation(title="t"), Message(Role.ASSISTANT, "an answer about okapis"))
    assert [h.where for h in store.search("okapi")] == ["answer"]
    store.close()
    monkeypatch.undo()

    store = Store(path)
    assert store._full_text
    store.add_message(Conversation(title="t2"), Message(Role.ASSISTANT, "okapis again"))
    assert len(store.search("okapis")) == 2
    store.close()
    integrity_check(path)


def test_a_sqlite_without_fts5_can_still_write_to_a_database_with_an_index(tmp_path, monkeypatch):
    path = tmp_path / "r1chat.db"
    Store(path).close()
    # What such a SQLite sees: triggers it cannot run would fail every write.
    monkeypatch.setattr(store_module, "fts5_available", lambda: False)
    store = Store(path)
    store.add_message(Conversation(title="written without fts5"), Message(Role.USER, "capybara"))
    store.close()
    monkeypatch.undo()
    store = Store(path)
    assert [h.where for h in store.search("capybara")] == ["prompt"]
    store.close()
    integrity_check(path)


def test_the_history_list_shows_models_dates_and_counts_newest_first_and_pages(store):
    conversation = Conversation(title="two models", model="qwq")
    store.add_message(conversation, Message(Role.USER, "q", model="deepseek-r1:8b"))
    store.add_message(conversation, Message(Role.ASSISTANT, "a", model="deepseek-r1:8b"))
    store.add_message(conversation, Message(Role.USER, "q2", model="qwq"))
    store.add_message(conversation, Message(Role.ASSISTANT, "a2", model="qwq"))
    store.add_message(conversation, Message(Role.ASSISTANT, "a3", model="deepseek-r1:8b"))
    later = Conversation(title="later")
    store.add_message(later, Message(Role.USER, "only a prompt", model="x"))
    newest, oldest = store.list_conversations()
    assert (newest.title, newest.models, newest.message_count) == ("later", (), 1)
    assert (oldest.models, oldest.message_count) == (("deepseek-r1:8b", "qwq"), 5)
    assert oldest.created_at <= oldest.updated_at
    assert [c.title for c in store.list_conversations(limit=1, offset=1)] == ["two models"]
    assert oldest.to_dict()["models"] == ["deepseek-r1:8b", "qwq"]


def test_a_rename_sticks_and_a_blank_one_goes_back_to_the_title_from_the_prompt(store, tmp_path):
    conversation = Conversation()
    store.add_message(conversation, Message(Role.USER, "Why is the sky blue?\n\nAnd sunsets red?"))
    before = store.list_conversations()[0].updated_at
    assert store.rename_conversation(conversation.id, "  Sky\ncolours\x1b[31m ") == "Sky colours"
    assert store.list_conversations()[0].updated_at == before  # keeps its place in the history
    # A copy loaded before the rename (another window) does not undo it, and learns the new title.
    stale = Conversation(id=conversation.id, title="old title")
    store.update_conversation(stale)
    assert stale.title == "Sky colours" == store.load_conversation(conversation.id).title
    assert store.rename_conversation(conversation.id, "   ") == "Why is the sky blue?"
    assert store.rename_conversation(12345, "nobody") is None


def test_a_moved_aside_database_gives_a_notice_naming_where_it_went(tmp_path):
    path = tmp_path / "r1chat.db"
    path.write_bytes(b"not sqlite" * 500)
    store = Store(path)
    assert str(store.moved_aside) in store.open_notice and "fresh" in store.open_notice
    store.close()
    assert Store(path).open_notice is None

import os
import sqlite3
import subprocess
import sys

import pytest

from r1chat.backends.base import TurnStats
from r1chat.conversation import Conversation, Message, MessageStatus, Role
from r1chat.store import Store, StoreError


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "r1chat.db")
    yield s
    s.close()


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
    raw = sqlite3.connect(tmp_path / "r1chat.db").execute("SELECT content, reasoning FROM messages WHERE role='assistant'").fetchone()
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

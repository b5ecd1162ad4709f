"""A damaged page inside the database: every command says so in one line, naming the database
and offering `r1chat doctor`, and changes nothing on disk; `r1chat doctor` checks, and saves
what can be read into a fresh file, keeping the damaged one aside."""

from __future__ import annotations

import sqlite3

import pytest

from r1chat.doctor import problems, salvage
from r1chat.store import DamagedStore, Store
from tests.damage import CONVERSATIONS, EXCHANGES, damaged_database, fill, integrity, on_disk

MESSAGES = CONVERSATIONS * EXCHANGES * 2


@pytest.fixture
def damaged(data_dir):
    return damaged_database(data_dir / "r1chat.db")


def said_damaged(result, database) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("r1chat: ") and f"The database {database} is damaged" in lines[-1]
    assert "r1chat doctor" in lines[-1]


# --- every command: one line, no traceback, nothing changed ------------------------------------


@pytest.mark.hostile(9, "cli")
def test_the_fixture_opens_but_a_page_of_messages_cannot_be_read(damaged):
    assert integrity(damaged) != "ok"
    store = Store(damaged)
    try:
        assert store.moved_aside is None  # found later, not on open: the case this is about
        with pytest.raises(DamagedStore):
            for conversation in store.list_conversations():
                store.load_conversation(conversation.id)
    finally:
        store.close()


@pytest.mark.hostile(9, "cli")
def test_export_of_a_conversation_on_a_damaged_page_says_so_and_changes_nothing(run_cli, damaged):
    before = on_disk(damaged.parent)
    said = [run_cli("export", str(n)) for n in range(1, CONVERSATIONS + 1)]
    failed = [result for result in said if result.returncode != 0]
    assert failed, "some conversation lives on the damaged page"
    for result in failed:
        said_damaged(result, damaged)
    assert on_disk(damaged.parent) == before


@pytest.mark.hostile(9, "cli")
def test_history_search_over_a_damaged_page_says_so_and_changes_nothing(run_cli, damaged):
    before = on_disk(damaged.parent)
    said_damaged(run_cli("history", "-s", "answer"), damaged)
    assert on_disk(damaged.parent) == before


@pytest.mark.hostile(9, "cli")
def test_history_with_its_conversations_page_damaged_says_so_and_changes_nothing(run_cli, data_dir):
    database = damaged_database(data_dir / "r1chat.db", table="conversations")
    before = on_disk(data_dir)
    said_damaged(run_cli("history"), database)
    assert on_disk(data_dir) == before


@pytest.mark.hostile(9, "cli")
def test_ask_continuing_a_damaged_conversation_says_so_sends_nothing_and_changes_nothing(run_cli, damaged, ollama):
    before = on_disk(damaged.parent)
    results = [run_cli("--host", ollama.url, "ask", "--conversation", str(n), "go on") for n in range(1, CONVERSATIONS + 1)]
    failed = [result for result in results if result.returncode != 0]
    assert failed
    for result in failed:
        said_damaged(result, damaged)
    answered = len(results) - len(failed)
    assert len([r for r in ollama.requests if r.path == "/api/chat"]) == answered
    if not answered:
        assert on_disk(damaged.parent) == before


# --- r1chat doctor ------------------------------------------------------------------------------


@pytest.mark.hostile(9, "cli")
def test_doctor_on_a_sound_database_says_so_and_changes_nothing(run_cli, data_dir):
    fill(data_dir / "r1chat.db")
    before = on_disk(data_dir)
    result = run_cli("doctor")
    assert result.returncode == 0, result.stderr
    assert "No damage found" in result.stdout and "Nothing was changed" in result.stdout
    assert on_disk(data_dir) == before


def test_doctor_with_no_database_says_there_is_nothing_to_check(run_cli, data_dir):
    result = run_cli("doctor")
    assert result.returncode == 0 and "nothing to check" in result.stdout
    assert not (data_dir / "r1chat.db").exists()


@pytest.mark.hostile(9, "cli")
def test_doctor_saves_what_can_be_read_and_keeps_the_damaged_file_aside(run_cli, damaged):
    damaged_bytes = damaged.read_bytes()
    result = run_cli("doctor")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "is damaged" in out and "conversations: 5 rows copied, 0 lost" in out
    copied, lost = (int(n) for n in _figures(out, "messages"))
    assert lost > 0 and copied + lost == MESSAGES
    (aside,) = damaged.parent.glob("r1chat.db.damaged-*[0-9]")
    assert str(aside) in out
    assert aside.read_bytes() == damaged_bytes  # kept as it was
    assert integrity(damaged) == "ok"
    store = Store(damaged)
    try:
        assert store.moved_aside is None
        kept = sum(len(store.load_conversation(c.id).messages) for c in store.list_conversations())
        assert kept == copied
        # The search index was built from the copied rows.
        assert len(store.search("quaternions", limit=1000, per_conversation=None)) == sum(
            1 for c in store.list_conversations() for m in store.load_conversation(c.id).messages if m.role == "user"
        )
    finally:
        store.close()
    again = run_cli("doctor")
    assert "No damage found" in again.stdout
    assert run_cli("export", "1").returncode == 0


def _figures(out: str, table: str) -> tuple[str, str]:
    line = next(line for line in out.splitlines() if line.strip().startswith(f"{table}:"))
    words = line.split()
    return words[1], words[4]


# --- the salvage itself --------------------------------------------------------------------------


def test_a_damaged_search_index_loses_no_row_and_is_built_again(tmp_path):
    path = damaged_database(tmp_path / "r1chat.db", table="search_messages_data")
    assert problems(path)
    found = salvage(path)
    assert [(t.name, t.copied, t.lost) for t in found.tables] == [
        ("conversations", CONVERSATIONS, 0), ("messages", MESSAGES, 0), ("drafts", 0, 0),
        ("eval_runs", 0, 0), ("eval_samples", 0, 0),
    ]
    assert problems(path) == []
    store = Store(path)
    try:
        assert len(store.search("answer", limit=1000, per_conversation=None)) == MESSAGES // 2
    finally:
        store.close()


def test_messages_whose_conversation_row_was_lost_get_a_conversation_again(tmp_path):
    path = damaged_database(tmp_path / "r1chat.db", table="conversations")
    found = salvage(path)
    assert found.rebuilt == CONVERSATIONS  # the one page held every conversation
    store = Store(path)
    try:
        listed = store.list_conversations()
        assert len(listed) == CONVERSATIONS and all(c.title.startswith("(recovered) question") for c in listed)
        assert sum(c.message_count for c in listed) == MESSAGES
    finally:
        store.close()


def test_the_fresh_file_replaces_the_old_only_once_complete(tmp_path, monkeypatch):
    path = damaged_database(tmp_path / "r1chat.db")
    damaged_bytes = path.read_bytes()

    def full_disk(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr("r1chat.doctor._rebuild_lost_conversations", full_disk)
    with pytest.raises(Exception, match="nothing was changed"):
        salvage(path)
    assert path.read_bytes() == damaged_bytes
    assert list(on_disk(tmp_path)) == ["r1chat.db"]  # the partial fresh file is gone


@pytest.mark.hostile(9, "core")
def test_a_write_that_meets_the_damaged_page_is_refused_in_one_line_and_changes_nothing(tmp_path):
    path = damaged_database(tmp_path / "r1chat.db", table="conversations")
    before = path.read_bytes()
    store = Store(path)
    try:
        with pytest.raises(DamagedStore) as raised:
            store.rename_conversation(1, "a new title")
        assert "\n" not in str(raised.value) and "r1chat doctor" in str(raised.value) and str(path) in str(raised.value)
    finally:
        store.close()
    assert path.read_bytes() == before

"""Tool calls and results are stored as parts, exported and found by search."""

from __future__ import annotations

import json
import subprocess

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
from r1chat.export import to_json, to_markdown
from r1chat.store import Store
from tests.conftest import REPO, cli_command


def tool_answer() -> Message:
    return Message(Role.ASSISTANT, parts=[
        ReasoningPart("I need the weather.", 10.0, 11.5),
        ToolCallPart("call_1", "forecast", {"city": "Reykjavik"}, server="weather"),
        ToolResultPart("call_1", "forecast", "Sleet and a brisk northerly gale.", seconds=0.4),
        ReasoningPart("Sleet, then.", 12.0, 12.5),
        TextPart("Take a coat: sleet is expected."),
    ], model="qwen3:8b", status=MessageStatus.DONE, created_at=10.0, finished_at=13.0)


def stored_conversation(store: Store) -> Conversation:
    conversation = Conversation(title="Weather")
    answer = tool_answer()
    answer.status = MessageStatus.STREAMING
    store.add_message(conversation, Message(Role.USER, "What is the weather?"), answer=answer)
    answer.status = MessageStatus.DONE
    store.save_message(answer)
    return conversation


def test_tool_parts_survive_the_store_in_order(store):
    conversation = stored_conversation(store)
    loaded = store.load_conversation(conversation.id).messages[-1]
    assert loaded.parts == tool_answer().parts


def test_search_finds_the_text_of_a_tool_result(store):
    conversation = stored_conversation(store)
    [hit] = store.search("northerly gale")
    assert hit.conversation_id == conversation.id and hit.where == "answer"
    assert "northerly gale" in hit.snippet
    assert store.search("Reykjavik")  # the call's arguments too


def test_an_older_database_gets_tool_search_when_migrated(tmp_path):
    import sqlite3

    from r1chat.store import MIGRATIONS

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    for migration in MIGRATIONS[:4]:
        migration(db)
    db.execute("PRAGMA user_version = 4")
    db.commit()
    db.close()
    store = Store(path)
    try:
        stored_conversation(store)
        assert [h.where for h in store.search("gale")] == ["answer"]
    finally:
        store.close()


def test_markdown_export_shows_calls_and_results_in_order():
    conversation = Conversation(title="Weather", messages=[Message(Role.USER, "What is the weather?"), tool_answer()])
    text = to_markdown(conversation)
    order = [text.index(s) for s in ("I need the weather.", "⚙ weather.forecast · 0.4s · ok", '"city": "Reykjavik"',
                                     "Sleet and a brisk", "Sleet, then.", "Take a coat")]
    assert order == sorted(order)


def test_json_export_has_the_tool_parts():
    conversation = Conversation(title="Weather", messages=[Message(Role.USER, "q"), tool_answer()])
    parts = json.loads(to_json(conversation))["messages"][-1]["parts"]
    assert [p["type"] for p in parts] == ["reasoning", "tool_call", "tool_result", "reasoning", "text"]
    assert parts[1]["server"] == "weather" and parts[2]["seconds"] == 0.4 and parts[2]["denied"] is False


@pytest.mark.process
def test_history_search_on_the_command_line_finds_tool_text(data_dir):
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(data_dir / "r1chat.db")
    try:
        stored_conversation(store)
    finally:
        store.close()
    result = subprocess.run(cli_command("history", "-s", "gale"), capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Weather" in result.stdout and "gale" in result.stdout

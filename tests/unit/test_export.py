import json
import os
import threading

import pytest

from r1chat.backends.base import TurnStats
from r1chat.conversation import Conversation, Message, MessageStatus, Role
from r1chat.export import ExportError, export_dir, file_name, save, to_json, to_markdown, write


def sample() -> Conversation:
    return Conversation(
        id=7,
        title="Multiplying",
        messages=[
            Message(Role.USER, "What is 17*23?"),
            Message(
                Role.ASSISTANT,
                "**391**",
                reasoning="17*20 = 340\n17*3 = 51\n</details> sneaky",
                model="deepseek-r1:8b",
                provider="ollama",
                reasoning_started_at=100.0,
                reasoning_ended_at=103.25,
                stats=TurnStats(completion_tokens=90),
            ),
            Message(Role.USER, "And 18*23?"),
            Message(Role.ASSISTANT, "", reasoning="18*23 is", status=MessageStatus.INTERRUPTED, model="deepseek-r1:8b"),
        ],
    )


def test_markdown_puts_each_trace_in_a_details_block_before_its_answer():
    text = to_markdown(sample())
    assert text.startswith("# Multiplying\n")
    first_details = text.index("<details>")
    assert text.index("What is 17*23?") < first_details < text.index("**391**")
    assert "<summary>Thought for 3.2s</summary>" in text or "<summary>Thought for 3.3s</summary>" in text
    assert "17*20 = 340" in text
    assert text.count("<details>") == text.count("</details>") == 2
    assert "&lt;/details&gt; sneaky" in text
    assert "(cut off)" in text and "Interrupted" in text


def test_json_holds_every_message_with_role_content_reasoning_model_status_times_and_stats():
    data = json.loads(to_json(sample()))
    assert data["format"] == "r1chat-conversation" and data["id"] == 7
    second = data["messages"][1]
    assert second["role"] == "assistant"
    assert second["content"] == "**391**"
    assert second["reasoning"].startswith("17*20")
    assert second["model"] == "deepseek-r1:8b" and second["status"] == "done"
    assert second["reasoning_started_at"] == 100.0 and second["stats"]["completion_tokens"] == 90
    assert data["messages"][3]["status"] == "interrupted"


# --- files -----------------------------------------------------------------------------------


def titled(title: str, id: int | None = 12) -> Conversation:
    return Conversation(id=id, title=title, messages=[Message(Role.USER, "hi")])


def test_a_file_is_named_after_the_title_and_the_id():
    assert file_name(titled("Why is the sky blue?")) == "why-is-the-sky-blue-12.md"
    assert file_name(titled("Why is the sky blue?"), "json", copy=3) == "why-is-the-sky-blue-12-3.json"
    assert file_name(titled("")) == "conversation-12.md"
    assert file_name(titled("???", id=None)) == "conversation-new.md"


def test_a_file_name_is_safe_on_every_file_system_and_keeps_letters_of_any_script():
    assert file_name(titled("../../etc/passwd")) == "etc-passwd-12.md"
    assert file_name(titled('CON: a<b>c|d"e*f?\\g\x00')) == "con-a-b-c-d-e-f-g-12.md"
    assert file_name(titled("四元数の説明 Ünïcode")) == "四元数の説明-ünïcode-12.md"
    long = file_name(titled("word " * 40))
    assert len(long) <= 70 and not long.startswith("-") and "--" not in long


def test_the_default_folder_is_the_documents_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(tmp_path / "Docs"))
    assert export_dir() == tmp_path / "Docs"


def test_saving_never_overwrites_a_file(tmp_path):
    conversation = sample()
    first = save(conversation, "md", tmp_path)
    (tmp_path / "keep.md").write_text("mine")
    second = save(conversation, "md", tmp_path)
    third = save(conversation, "json", tmp_path)
    assert [p.name for p in (first, second, third)] == ["multiplying-7.md", "multiplying-7-2.md", "multiplying-7.json"]
    assert first.read_text() == second.read_text() == to_markdown(conversation)
    assert json.loads(third.read_text())["id"] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "keep.md", "multiplying-7-2.md", "multiplying-7.json", "multiplying-7.md"
    ]


def test_exports_at_the_same_moment_each_get_their_own_file(tmp_path):
    paths = []
    threads = [threading.Thread(target=lambda: paths.append(save(sample(), "md", tmp_path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(paths)) == 8 and all(p.read_text() == to_markdown(sample()) for p in paths)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_saving_creates_the_folder_and_an_unwritable_one_is_an_export_error(tmp_path):
    assert save(sample(), "md", tmp_path / "new" / "folder").parent == tmp_path / "new" / "folder"
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ExportError, match="a-file"):
        save(sample(), "md", blocker / "sub")


def test_writing_replaces_a_file_at_once_and_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "out.md"
    target.write_text("old")
    write(target, "new")
    assert target.read_text() == "new"
    if os.geteuid() != 0:
        tmp_path.chmod(0o500)
        try:
            with pytest.raises(ExportError, match="out.md"):
                write(target, "newer")
        finally:
            tmp_path.chmod(0o700)
        assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]


def test_other_versions_of_a_turn_are_exported_folded_under_the_current_one():
    from r1chat.conversation import Conversation, Message, MessageStatus, Role
    from r1chat.export import to_json, to_markdown

    prompt = Message(Role.USER, "What is 17 * 23?", id=1, exchange_id=1)
    first = Message(Role.ASSISTANT, "It is 391.", reasoning="17*20+17*3", id=2, exchange_id=1, reply_to=1,
                    current=False, model="deepseek-r1:8b")
    failed = Message(Role.ASSISTANT, "", id=3, exchange_id=1, reply_to=1, current=False, status=MessageStatus.ERROR,
                     error="Cannot reach http://127.0.0.1:11434", model="deepseek-r1:8b")
    second = Message(Role.ASSISTANT, "391, by the grid method.", id=4, exchange_id=1, reply_to=1, model="deepseek-r1:14b")
    conversation = Conversation(title="Multiply", messages=[prompt, first, failed, second])
    text = to_markdown(conversation)
    assert text.count("## You") == 1
    shown_at, first_at = text.index("391, by the grid method."), text.index("It is 391.")
    assert shown_at < first_at  # the current answer reads first, the others follow folded
    assert "Version 1 of 3 (not sent): deepseek-r1:8b, done" in text
    assert "Version 2 of 3 (not sent): deepseek-r1:8b, error" in text and "Cannot reach" in text
    data = __import__("json").loads(to_json(conversation))
    assert data["version"] == 2
    assert [(m["id"], m["current"]) for m in data["messages"]] == [(1, True), (2, False), (3, False), (4, True)]

"""Control sequences in stored or streamed text never leave ``r1chat``'s command line: not on
stdout or stderr (a pipe or a terminal), not in exported files; JSON keeps them, escaped."""

from __future__ import annotations

import json
import os
import pty
import subprocess

import pytest

from r1chat.conversation import Conversation, Message, Role
from r1chat.store import Store
from tests.conftest import REPO, cli_command
from tests.hostile_text import RAW, assert_clean, hostile
from tests.servers import OllamaFault

TITLE = hostile("Title of kettles")
PROMPT = hostile("Prompt about kettles")
TRACE = hostile("Trace thinking hard")
ANSWER = hostile("Answer with a link")
WORDS = ("Title of kettles", "Prompt about kettles", "Trace thinking hard", "Answer", "with a link", "reversed")

pytestmark = pytest.mark.hostile(6, "cli")


@pytest.fixture
def stored(data_dir):
    """A stored conversation whose title, prompt, trace, answer and model name are all hostile."""
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(data_dir / "r1chat.db")
    try:
        conversation = Conversation(title=TITLE, provider="ollama", model="deepseek-r1:8b")
        store.create_conversation(conversation)
        store.add_message(conversation, Message(Role.USER, PROMPT))
        store.add_message(
            conversation, Message(Role.ASSISTANT, ANSWER, reasoning=TRACE, model=hostile("deepseek-r1:8b"))
        )
    finally:
        store.close()
    return conversation


def on_a_terminal(*args: str) -> str:
    """What ``r1chat ARGS`` writes to a terminal (stdout and stderr both on one pty)."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(cli_command(*args), stdout=follower, stderr=follower, stdin=subprocess.DEVNULL, cwd=REPO)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the program is gone and the terminal drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=60) == 0
    finally:
        os.close(leader)
    return b"".join(chunks).decode().replace("\r\n", "\n")  # the terminal's own line endings


def test_export_markdown_to_a_pipe_keeps_the_words_and_drops_every_sequence(stored, run_cli):
    result = run_cli("export")
    assert result.returncode == 0, result.stderr
    assert_clean(result.stdout, *WORDS)
    assert_clean(result.stderr)


@pytest.mark.process
def test_export_markdown_to_a_terminal_writes_no_sequence(stored):
    assert_clean(on_a_terminal("export"), *WORDS)


def test_export_to_a_file_and_into_the_documents_folder_is_clean(stored, run_cli, tmp_path, monkeypatch):
    target = tmp_path / "out.md"
    assert run_cli("export", "-o", str(target)).returncode == 0
    assert_clean(target.read_text(), *WORDS)
    documents = tmp_path / "Documents"
    result = run_cli("export", "--save", env={**os.environ, "XDG_DOCUMENTS_DIR": str(documents)})
    assert result.returncode == 0, result.stderr
    [saved] = documents.iterdir()
    assert_clean(saved.read_text(), *WORDS)
    assert_clean(result.stderr)


def test_export_json_escapes_every_sequence_and_keeps_the_text_whole(stored, run_cli, tmp_path):
    result = run_cli("export", "-f", "json")
    assert not RAW.search(result.stdout)
    data = json.loads(result.stdout)
    assert data["title"] == TITLE
    assert [m["content"] for m in data["messages"]] == [PROMPT, ANSWER]
    assert data["messages"][1]["reasoning"] == TRACE
    target = tmp_path / "out.json"
    run_cli("export", "-f", "json", "-o", str(target))
    assert not RAW.search(target.read_text()) and json.loads(target.read_text()) == data


def test_history_list_and_search_on_a_terminal_show_words_not_sequences(stored, run_cli):
    assert_clean(on_a_terminal("history"), "Title of kettles")
    found = on_a_terminal("history", "-s", "thinking")  # in the trace: the title, then a snippet
    # The match is bold on a terminal: r1chat's own marks are the only escape sequences.
    assert "\x1b[1mthinking\x1b[22m" in found
    assert_clean(found.replace("\x1b[1m", "").replace("\x1b[22m", ""), "Title of kettles", "thinking hard")
    listed = run_cli("history", "--json").stdout
    assert not RAW.search(listed) and json.loads(listed)[0]["title"] == TITLE
    hits = run_cli("history", "-s", "kettles", "--json").stdout
    assert not RAW.search(hits) and json.loads(hits)


def test_ask_keeps_trace_answer_and_warnings_clean_on_stdout_and_stderr(run_cli, ollama):
    model = ollama.find("deepseek-r1:8b")[1]
    model.reasoning, model.answer = TRACE, ANSWER
    result = run_cli("ask", "-r", "--stats", "hi", "-m", "deepseek-r1:8b", "--host", ollama.url)
    assert result.returncode == 0, result.stderr
    assert_clean(result.stdout, "Answer", "with a link", "reversed")
    assert_clean(result.stderr, "Trace thinking hard", "tok")


@pytest.mark.process
def test_ask_on_a_terminal_writes_no_sequence_but_its_own(ollama):
    model = ollama.find("deepseek-r1:8b")[1]
    model.reasoning, model.answer = TRACE, ANSWER
    shown = on_a_terminal("ask", "-r", "hi", "-m", "deepseek-r1:8b", "--host", ollama.url)
    # r1chat's own: the dim trace (2m, 0m).
    assert_clean(shown.replace("\x1b[2m", "").replace("\x1b[0m", ""), "Trace thinking hard", "with a link")


def test_ask_json_escapes_the_text_and_keeps_it_whole(run_cli, ollama):
    model = ollama.find("deepseek-r1:8b")[1]
    model.reasoning, model.answer = TRACE, ANSWER
    result = run_cli("ask", "--json", "hi", "-m", "deepseek-r1:8b", "--host", ollama.url)
    assert result.returncode == 0, result.stderr
    assert not RAW.search(result.stdout)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert "".join(e["text"] for e in events if e["type"] == "reasoning") == TRACE
    assert "".join(e["text"] for e in events if e["type"] == "content") == ANSWER


def test_a_server_error_with_sequences_is_one_clean_line(run_cli, ollama):
    ollama.fault = OllamaFault(error_after=3, error=hostile("the server broke down"))
    result = run_cli("ask", "hi", "-m", "deepseek-r1:8b", "--host", ollama.url)
    assert result.returncode == 1
    assert_clean(result.stderr, "broke down")

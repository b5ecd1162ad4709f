"""Bytes that are not UTF-8, wherever `r1chat ask` takes input: piped in, in an argument, in the
environment. Each bad byte is read as U+FFFD; nothing crashes, and nothing half-made is stored."""

from __future__ import annotations

import os
import sqlite3
import subprocess

import pytest

from tests.conftest import REPO, cli_command

REPLACED = "\N{REPLACEMENT CHARACTER}"


def run(*args: str | bytes, stdin: bytes | None = None, env: dict[bytes, bytes] | None = None):
    """r1chat with arguments, input and environment as raw bytes, as a shell would pass them."""
    command = [os.fsencode(part) for part in cli_command()] + [os.fsencode(a) if isinstance(a, str) else a for a in args]
    return subprocess.run(
        command,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=60,
        cwd=REPO,
        env={**os.environb, **(env or {})},
    )


def prompts_sent(ollama) -> list[dict]:
    return [r.json["messages"] for r in ollama.requests if r.path == "/api/chat"]


def stored(data_dir, sql):
    if not (data_dir / "r1chat.db").exists():
        return []
    db = sqlite3.connect(data_dir / "r1chat.db")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def no_traceback(result) -> str:
    err = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    return err


@pytest.mark.process
@pytest.mark.hostile(8, "cli")
def test_a_latin1_byte_piped_to_ask_is_read_as_a_replacement_character(ollama, data_dir):
    result = run("ask", "-m", "deepseek-r1:8b", "--host", ollama.url, stdin=b"caf\xe9 au lait?")
    no_traceback(result)
    assert result.returncode == 0
    assert prompts_sent(ollama)[-1][-1]["content"] == f"caf{REPLACED} au lait?"
    assert stored(data_dir, "SELECT content FROM messages WHERE role = 'user'") == [(f"caf{REPLACED} au lait?",)]


@pytest.mark.process
@pytest.mark.hostile(8, "cli")
def test_latin1_bytes_in_the_prompt_and_system_arguments_are_read_as_replacement_characters(ollama, data_dir):
    result = run("ask", "-m", "deepseek-r1:8b", "--host", ollama.url, "--system", b"be na\xefve", b"caf\xe9?")
    no_traceback(result)
    assert result.returncode == 0
    messages = prompts_sent(ollama)[-1]
    assert messages[0] == {"role": "system", "content": f"be na{REPLACED}ve"}
    assert messages[-1]["content"] == f"caf{REPLACED}?"


@pytest.mark.process
@pytest.mark.hostile(8, "cli")
@pytest.mark.parametrize("where", ["argument", "environment"])
def test_a_model_name_with_a_latin1_byte_is_one_clear_line_and_stores_nothing(ollama, data_dir, where):
    if where == "argument":
        result = run("ask", "--host", ollama.url, "-m", b"r1\xe9", "hi")
    else:
        result = run("ask", "--host", ollama.url, "hi", env={b"R1CHAT_MODEL": b"r1\xe9"})
    err = no_traceback(result)
    assert result.returncode == 1
    assert err == f"r1chat: Model 'r1{REPLACED}' is not on the server. Pull it with: r1chat pull r1{REPLACED}\n"
    # The prompt is kept with the error, as for any model that is not there; no empty conversation.
    assert stored(data_dir, "SELECT c.title, m.content FROM conversations c JOIN messages m ON m.conversation_id = c.id "
                            "WHERE m.role = 'user'") == [("hi", "hi")]
    assert stored(data_dir, "SELECT count(*) FROM conversations") == [(1,)]


@pytest.mark.process
@pytest.mark.hostile(8, "cli")
def test_an_api_key_with_a_latin1_byte_is_one_clear_line(data_dir):
    result = run("ask", "--provider", "deepseek", "hi", env={b"DEEPSEEK_API_KEY": b"sk-\xe9abc"})
    err = no_traceback(result)
    assert result.returncode == 1
    assert err.startswith("r1chat: The 'deepseek' provider's API key has a character no key has (not ASCII)")
    assert "DEEPSEEK_API_KEY" in err and err.count("\n") == 1
    assert stored(data_dir, "SELECT id FROM conversations") == []

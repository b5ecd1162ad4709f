"""``r1chat`` against a real llama.cpp server: the protocol as shipped, not as written.

What llama-cpp-python's server really does, as these tests found it:

* the stream is SSE with ``: ping - <date>`` comments every 15 s, one chunk per token, a first
  chunk with only ``delta.role``, and a last one with an empty delta and the finish reason;
* it sends no ``usage`` (``stream_options.include_usage`` is ignored) and no ``timings``;
* a prompt longer than the context is a 400 ``context_length_exceeded`` only without streaming:
  streamed, the 200 and its headers are already out when the error happens, and the stream ends
  with no event at all;
* a client that disconnects stops the generation (the log says ``Disconnected from client``).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time

import pytest

from r1chat.backends.base import ChatOptions, Content, Done
from r1chat.backends.openai import OpenAIBackend
from r1chat.conversation import History, Message, Role
from tests.conftest import REPO, cli_command
from tests.integration.conftest import ANSWER_TOKENS
from tests.integration.llama_server import CONTEXT, MODEL_ID

pytestmark = pytest.mark.integration

QUESTION = "What is the capital of France?"


def exported(run_cli, *conversation: str) -> dict:
    result = run_cli("export", *conversation, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_ask_streams_a_real_answer(use_llama, run_cli):
    result = run_cli("ask", QUESTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "the model said nothing"
    answer = exported(run_cli)["messages"][-1]
    assert answer["model"] == MODEL_ID and answer["status"] == "done"
    assert answer["content"].strip() == result.stdout.strip()
    # max_tokens (sent through extra_body) reached the server, and its finish reason came back.
    assert answer["stats"]["finish_reason"] == "length"


async def test_the_answer_arrives_token_by_token(llama):
    backend = OpenAIBackend(llama.url, provider="llama", extra_body={"max_tokens": ANSWER_TOKENS})
    arrivals: list[float] = []
    events = []
    try:
        async for event in backend.chat(MODEL_ID, History("", (Message(Role.USER, QUESTION),)), ChatOptions(temperature=0)):
            events.append(event)
            if isinstance(event, Content):
                arrivals.append(time.monotonic())
    finally:
        await backend.aclose()
    assert isinstance(events[-1], Done) and events[-1].stats.finish_reason == "length"
    text = "".join(e.text for e in events if isinstance(e, Content))
    assert text.strip()
    # One chunk per token (a few merge while the server holds back a possible stop string), spread
    # over the generation rather than delivered in one buffered write at the end.
    assert len(arrivals) >= ANSWER_TOKENS // 2
    assert arrivals[-1] - arrivals[0] > 0.2


def test_models_lists_the_served_model(use_llama, run_cli):
    result = run_cli("models")
    assert result.returncode == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert names == [MODEL_ID]
    result = run_cli("models", "--json")
    assert [model["name"] for model in json.loads(result.stdout)] == [MODEL_ID]


def test_timing_of_a_turn_is_recorded(use_llama, run_cli):
    result = run_cli("ask", "--stats", QUESTION)
    assert result.returncode == 0, result.stderr
    assert f"[{MODEL_ID} · " in result.stderr
    stats = exported(run_cli)["messages"][-1]["stats"]
    # The server sends no timings; r1chat measures the turn itself.
    assert stats["total_seconds"] > 0 and stats["eval_seconds"] > 0
    assert stats["total_seconds"] >= stats["eval_seconds"]


def test_token_counts_of_a_turn_are_known(use_llama, run_cli):
    result = run_cli("ask", "--stats", QUESTION)
    assert result.returncode == 0, result.stderr
    stats = exported(run_cli)["messages"][-1]["stats"]
    assert stats["completion_tokens"] and stats["completion_tokens"] > 0
    assert "tok/s" in result.stderr


def _partial_answer(data_dir, process: subprocess.Popen, minimum: int = 40, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            db = sqlite3.connect(data_dir / "r1chat.db")
            try:
                rows = db.execute("SELECT content FROM messages WHERE role = 'assistant'").fetchall()
            finally:
                db.close()
        except sqlite3.OperationalError:
            rows = []
        if rows and len(rows[0][0]) >= minimum:
            return rows[0][0]
        time.sleep(0.1)
    raise AssertionError("no partial answer was saved")


def _wait_for_log(llama, text: str, since: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in llama.log()[since:]:
            return True
        time.sleep(0.1)
    return False


FORCED_TOKENS = 3500


def test_ctrl_c_mid_stream_closes_the_connection_and_the_server_stops_generating(use_llama, run_cli, data_dir, llama):
    # min_tokens keeps the end-of-text token away: this answer runs for FORCED_TOKENS tokens (minutes
    # on 2 cores) unless the server stops generating it.
    use_llama(max_tokens=FORCED_TOKENS, min_tokens=FORCED_TOKENS)
    process = subprocess.Popen(
        cli_command("ask", "Count from one to one thousand."),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _partial_answer(data_dir, process)
    log_before = len(llama.log())
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    answer = exported(run_cli)["messages"][1]
    assert answer["status"] == "interrupted" and len(answer["content"]) >= 40

    # Observed two ways. (1) The server's own log: sse-starlette saw the client go and cancelled
    # the generator that was producing tokens.
    assert _wait_for_log(llama, "Disconnected from client", log_before), llama.log()[log_before:]
    # (2) The server runs one generation at a time: a lock is held until the generator ends, and the
    # fixture turns off interrupt_requests, so a new request does not cut the old one short. Had the
    # first answer gone on generating, this request would wait for the rest of it first.
    use_llama()
    started = time.monotonic()
    result = run_cli("ask", "Hello")
    waited = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    stats = exported(run_cli)["messages"][1]["stats"]
    assert stats["finish_reason"] == "length"  # so it was ANSWER_TOKENS tokens long
    seconds_per_token = stats["eval_seconds"] / ANSWER_TOKENS
    # Every token is at least one character, so at most len(content) of them were generated.
    rest = (FORCED_TOKENS - len(answer["content"])) * seconds_per_token
    assert waited < rest / 3, f"the reply took {waited:.1f} s; the rest of the first answer needed ~{rest:.0f} s"


def _one_line(result) -> str:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("r1chat: "), result.stderr
    return lines[0]


LONG_PROMPT = "word " * (CONTEXT + 1000)


def test_a_prompt_longer_than_the_context_fails_in_one_line(use_llama, run_cli):
    _one_line(run_cli("ask", input=LONG_PROMPT, timeout=120))


def test_a_prompt_longer_than_the_context_is_named_a_context_error(use_llama, run_cli):
    line = _one_line(run_cli("ask", input=LONG_PROMPT, timeout=120))
    assert "context" in line

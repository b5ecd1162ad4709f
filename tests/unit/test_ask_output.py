"""``r1chat ask --stats`` and ``--json``: what a script reads of a turn."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import ANSWER, REASONING
from tests.servers import OllamaFault
from tests.unit.test_cli import LOOPING_TRACE


@pytest.fixture
def ask(run_cli, ollama):
    def run(*args, **kwargs):
        return run_cli("ask", "-m", "deepseek-r1:8b", "--host", ollama.url, *args, **kwargs)

    return run


def events_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_stats_give_trace_and_answer_tokens_apart(ask):
    result = ask("--stats", "What is 17*23?")
    assert result.returncode == 0 and result.stdout == ANSWER + "\n"
    line = result.stderr.strip()
    found = re.fullmatch(r"\[deepseek-r1:8b · trace (\d+) tok · answer (\d+) tok · [\d.]+ tok/s · .+ · conversation 1\]", line)
    assert found, line
    assert int(found[1]) > int(found[2]) > 0  # the fake model's trace is longer than its answer


def test_json_is_the_trace_and_the_answer_as_events_then_stats(ask):
    result = ask("--json", "What is 17*23?")
    assert result.returncode == 0 and result.stderr == ""
    events = events_of(result.stdout)
    kinds = [e["type"] for e in events]
    assert kinds == sorted(kinds, key=["reasoning", "content", "stats"].index) and kinds[-1] == "stats"
    assert "".join(e["text"] for e in events if e["type"] == "reasoning") == REASONING
    assert "".join(e["text"] for e in events if e["type"] == "content") == ANSWER
    stats = events[-1]
    assert stats["model"] == "deepseek-r1:8b" and stats["provider"] == "ollama" and stats["conversation_id"] == 1
    assert stats["status"] == "done" and stats["finish_reason"] == "stop"
    assert stats["reasoning_tokens"] == kinds.count("reasoning")  # the fake server sends a token a line
    assert 0 < stats["answer_tokens"] <= kinds.count("content") + 1  # the server's count, not ours
    assert stats["seconds"] > 0 and stats["tokens_per_second"] > 0


def test_json_warnings_are_events_not_stderr_lines(ask, ollama):
    ollama.find("deepseek-r1:8b")[1].reasoning = LOOPING_TRACE
    result = ask("--json", "What is 17*23?")
    assert result.returncode == 0 and result.stderr == ""
    [warning] = [e for e in events_of(result.stdout) if e["type"] == "warning"]
    assert warning["message"].startswith("the trace is going round in circles")


def test_json_failure_mid_answer_is_an_error_event_then_stats_and_exit_1(ask, ollama):
    ollama.fault = OllamaFault(close_after=5)
    result = ask("--json", "What is 17*23?")
    assert result.returncode == 1 and result.stderr == ""
    events = events_of(result.stdout)
    assert [e["type"] for e in events[-2:]] == ["error", "stats"]
    assert "broke mid-answer" in events[-2]["message"] and "saved (conversation 1)" in events[-2]["message"]
    assert events[-1]["status"] == "error"


def test_json_failure_before_any_turn_is_one_error_event(ask):
    result = ask("--json", "--conversation", "7", "hi")
    assert result.returncode == 1 and result.stderr == ""
    [event] = events_of(result.stdout)
    assert event["type"] == "error" and "no conversation 7" in event["message"]

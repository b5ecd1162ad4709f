"""A real model writing a real ``<think>`` trace, split by r1chat into a trace and an answer.

The grammar reaches llama.cpp through the provider's ``extra_body`` in the config file, the same
option users set for OpenRouter's ``reasoning`` or vLLM's sampling extras.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.integration.conftest import THINK_GRAMMAR, TRACE_CHARS

pytestmark = pytest.mark.integration

TRACE = re.compile(f"[{TRACE_CHARS}]{{20,120}}")
ANSWER = re.compile(f"[{TRACE_CHARS}]{{1,60}}")


def test_a_think_trace_from_the_model_is_split_from_its_answer(use_llama, run_cli):
    use_llama(grammar=THINK_GRAMMAR, max_tokens=400)
    result = run_cli("ask", "--show-reasoning", "Why is the sky blue?")
    assert result.returncode == 0, result.stderr
    trace, answer = result.stderr.strip("\n"), result.stdout.strip("\n")
    # Only the grammar's characters on each side: no "<think>", "</think>" or a piece of one leaked.
    assert TRACE.fullmatch(trace), trace
    assert ANSWER.fullmatch(answer.strip()), answer

    export = json.loads(run_cli("export", "--format", "json").stdout)
    message = export["messages"][-1]
    assert message["status"] == "done" and message["stats"]["finish_reason"] == "stop"
    assert message["reasoning"] == trace and message["content"].strip() == answer.strip()
    assert not message["stats"]["reasoning_truncated"]


"""Opening a long conversation: time until it is drawn and usable, and the process's memory.

The conversation is written through ``r1chat.store.Store`` into an isolated data directory:
prompts, and answers with Markdown and a long reasoning trace each (so half of the messages
carry one). With the app started on an empty chat in a pty, ``probe.py`` opens it as the
history screen does; the time runs from there until the screen has been redrawn with the
conversation's end. The rest of the window of 40 messages is mounted above it after that
frame: the detail says when it was all in, and how late the event loop ran meanwhile.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

from tests.benchmarks.corpus import long_turn
from tests.benchmarks.figures import Figure, Target, median
from tests.benchmarks.plan import PROMPT_MARKER, Plan, probe_command
from tests.benchmarks.pty_app import PtyApp, TempHome, isolated_env
from tests.benchmarks.timed_server import MODEL, TimedOpenAI

OPEN = Target("open a long conversation", 0.3, "s")
OPEN_RSS = Target("RSS with that conversation open", 150.0, "MB")
TARGETS = [OPEN, OPEN_RSS]

TRACE_TOKENS, ANSWER_TOKENS = 800, 300
VARIANTS = 12  # distinct turns, repeated through the conversation


@contextmanager
def _environ(env: dict[str, str]):
    saved = os.environ.copy()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def write_conversation(env: dict[str, str], messages: int) -> int:
    """A conversation of ``messages`` messages in the store the app will open; returns its id."""
    from r1chat.backends.base import TurnStats
    from r1chat.conversation import Conversation, Message, MessageStatus, Role
    from r1chat.store import Store, default_path

    with _environ(env):
        path = default_path()
    turns = [long_turn(TRACE_TOKENS + ANSWER_TOKENS, TRACE_TOKENS / (TRACE_TOKENS + ANSWER_TOKENS), seed=n)
             for n in range(VARIANTS)]
    store = Store(path)
    try:
        conversation = Conversation(title="A long conversation", provider="openai", model=MODEL)
        store.create_conversation(conversation)
        clock = 1_700_000_000.0
        for n in range(messages // 2):
            reasoning, answer = turns[n % VARIANTS]
            prompt = f"Question {n + 1}: why does the cache stall under load, and what should I measure first?"
            store.add_message(conversation, Message(Role.USER, prompt, model=MODEL, provider="openai", created_at=clock))
            stats = TurnStats(prompt_tokens=40 * n, completion_tokens=TRACE_TOKENS + ANSWER_TOKENS,
                              reasoning_tokens=TRACE_TOKENS, eval_seconds=20.0, finish_reason="stop")
            store.add_message(conversation, Message(
                Role.ASSISTANT, answer, reasoning, status=MessageStatus.DONE, model=MODEL, provider="openai",
                created_at=clock + 1, reasoning_started_at=clock + 1.5, reasoning_ended_at=clock + 14,
                first_token_at=clock + 1.5, finished_at=clock + 21, stats=stats,
            ))
            clock += 60
    finally:
        store.close()
    return conversation.id


def _open_once(plan: Plan, server: TimedOpenAI, extra_env: dict[str, str]) -> dict:
    with TempHome() as home:
        env = isolated_env(home, **extra_env)
        conversation_id = write_conversation(env, plan.conversation_messages)
        report = home / "report.json"
        command = probe_command("open", str(report), str(conversation_id), "--",
                                "--base-url", server.base_url, "--model", MODEL)
        with PtyApp(command, env) as app:
            app.wait_for(PROMPT_MARKER, timeout=60)
            if app.wait_exit(timeout=60) is None:
                raise TimeoutError(f"the conversation was not opened; last output:\n{app.text[-1500:]}")
        if not report.exists():
            raise RuntimeError(f"the probe wrote no report (exit {app.exit_status}):\n{app.text[-1500:]}")
        result = json.loads(Path(report).read_text())
    if result["messages"] != plan.conversation_messages:
        raise RuntimeError(f"opened {result['messages']} messages, not {plan.conversation_messages}")
    return result


def measure(plan: Plan) -> list[Figure]:
    with TimedOpenAI("Fine.", "Yes.") as server:
        reports = [_open_once(plan, server, {}) for _ in range(plan.runs)]
        if plan.profile:  # one more run, profiled (cProfile slows it: not counted)
            _open_once(plan, server, plan.profile_env("open"))
    n = plan.conversation_messages
    load = median([r["load_seconds"] for r in reports])
    show = median([r["show_seconds"] for r in reports])
    runs = f"median of {len(reports)}"
    first = median([r["mounted_first"] for r in reports])
    filled = median([r["filled_seconds"] for r in reports])
    window = median([r["mounted"] for r in reports])
    filling_lag = median([r["lag_filling"].get("max", 0) for r in reports]) * 1000
    rss = median([r["memory_settled"]["VmRSS"] for r in reports])
    peak = median([r["memory_settled"]["VmHWM"] for r in reports])
    before = median([r["memory_before"]["VmRSS"] for r in reports])
    return [
        OPEN.measured(
            median([r["open_seconds"] for r in reports]),
            f"{n:,} messages; store load {load:.3f} s, view.show {show:.3f} s, then drawn with the last "
            f"{first:.0f}; all {window:.0f} of the window in at {filled:.3f} s, the loop late by at most "
            f"{filling_lag:.0f} ms meanwhile; {runs}",
        ),
        OPEN_RSS.measured(rss, f"VmRSS 1 s after opening (before {before:.0f} MB, peak {peak:.0f} MB); {runs}"),
    ]

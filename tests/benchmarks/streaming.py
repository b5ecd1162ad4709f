"""Streaming: a long turn as fast as the server can send it, and CPU at a reading pace.

Both run the real app in a 120x40 pty, the fake DeepSeek over real HTTP, and the prompt typed
into the terminal. Throughput needs to see inside the app (when the first token reaches the
answer widget, when the finished turn has been drawn, how late the event loop runs), so it runs
r1chat's own ``main`` through ``probe.py``; a pty rather than ``App.run_test`` because headless
Textual skips turning frames into escape sequences and writing them, which is part of the cost.
CPU needs nothing from inside: the plain ``r1chat`` script, its /proc CPU time read when the
server starts and ends the stream.
"""

from __future__ import annotations

import json
import time

from tests.benchmarks.corpus import long_turn
from tests.benchmarks.figures import Figure, Target, median
from tests.benchmarks.plan import PROMPT_MARKER, Plan, probe_command, r1chat_command
from tests.benchmarks.pty_app import PtyApp, TempHome, isolated_env
from tests.benchmarks.timed_server import OLLAMA_CHARS, TimedOllama, TimedOpenAI, chunked, raw_rate

THROUGHPUT = Target("render throughput, long turn", 3000.0, "tok/s", at_most=False)
STALL = Target("p99 event-loop stall while streaming", 50.0, "ms")
PACED_CPU = Target("CPU while streaming at 100 tok/s (pty)", 15.0, "%")
PACED_OLLAMA = Target("CPU, Ollama /api/chat, 4-char tokens at 100/s (pty)", 15.0, "%")
PACED_OPENAI_CHARS = Target("CPU, OpenAI-compatible, 4-char tokens at 100/s (pty)", 15.0, "%")
TARGETS = [THROUGHPUT, STALL, PACED_CPU, PACED_OLLAMA, PACED_OPENAI_CHARS]


def _app_args(server: TimedOpenAI) -> list[str]:
    return server.app_args()


PROMPT = "Tell me about caches"


def type_prompt(app: PtyApp) -> None:
    # As a person types: the text, then Enter once the text is on screen (sent in one write
    # right after start-up, the Enter was once lost).
    app.write(PROMPT.encode())
    app.wait_for(PROMPT, timeout=10)
    app.write(b"\r")


def _stream_once(server: TimedOpenAI, tokens: int, extra_env: dict[str, str]) -> dict:
    with TempHome() as home:
        report = home / "report.json"
        command = probe_command("stream", str(report), "--", *_app_args(server))
        with PtyApp(command, isolated_env(home, **extra_env)) as app:
            app.wait_for(PROMPT_MARKER, timeout=60)
            server.reset()
            type_prompt(app)
            if not server.stream_started.wait(30):
                raise TimeoutError(f"the prompt was not sent; last output:\n{app.text[-1500:]}")
            if app.wait_exit(timeout=120 + tokens / 50) is None:
                raise TimeoutError(f"the turn of {tokens} tokens did not finish; last output:\n{app.text[-1500:]}")
        if not report.exists():
            raise RuntimeError(f"the probe wrote no report (exit {app.exit_status}):\n{app.text[-1500:]}")
        result = json.loads(report.read_text())
    received = result["reasoning_tokens"] + result["content_tokens"]
    if received != tokens or result.get("status") != "done":
        raise RuntimeError(f"the app saw {received} of {tokens} tokens, turn {result.get('status')}")
    return result


def throughput(plan: Plan) -> list[Figure]:
    reasoning, answer = long_turn(plan.turn_tokens)
    with TimedOpenAI(reasoning, answer) as server:
        _, ceiling = raw_rate(server)
        reports = [_stream_once(server, plan.turn_tokens, {}) for _ in range(plan.runs)]
        if plan.profile:  # one more run, profiled (cProfile slows it: not counted)
            _stream_once(server, plan.turn_tokens, plan.profile_env("stream"))
    n = plan.turn_tokens
    rates = [n / (r["drawn_at"] - r["first_token_at"]) for r in reports]
    arrival = median([n / (r["last_token_at"] - r["first_token_at"]) for r in reports])
    settle = median([r["drawn_at"] - r["last_token_at"] for r in reports])
    # CPU time is what a busy machine changes least: a run slower in wall time than in CPU time
    # waited for a core.
    cpu = median([r["cpu_at_drawn"] - r["cpu_at_first_token"] for r in reports])
    stalls = [r["lag"]["p99"] * 1000 for r in reports]
    samples = median([r["lag"]["samples"] for r in reports])
    typical = median([r["lag"]["p50"] for r in reports]) * 1000
    arriving = median([r["lag_arriving"].get("p99", 0) for r in reports]) * 1000
    settling = median([r["lag_settling"].get("max", 0) for r in reports]) * 1000
    runs = f"median of {len(reports)}"
    return [
        THROUGHPUT.measured(
            median(rates),
            f"{n:,} tokens, {len(answer) // 1000} KB answer; tokens reach the UI at {arrival:,.0f}/s, "
            f"last token to drawn {settle:.2f} s; app CPU {cpu:.1f} s for the turn; server alone "
            f"{ceiling:,.0f}/s; {runs}",
        ),
        STALL.measured(
            median(stalls),
            f"lateness of a 10 ms sleep, first token to drawn ({samples:.0f} samples, p50 {typical:.0f} ms); "
            f"p99 while tokens arrive {arriving:.0f} ms, longest while finishing {settling:.0f} ms; {runs}",
        ),
    ]


def start_turn(app: PtyApp, server: TimedOpenAI | TimedOllama) -> None:
    """Once the app is up and idle, type the prompt and send it; returns when the stream began."""
    app.wait_for(PROMPT_MARKER, timeout=60)
    time.sleep(0.5)  # let the start-up's connection check finish
    server.reset()
    type_prompt(app)
    if not server.stream_started.wait(30):
        raise TimeoutError(f"the prompt was not sent; last output:\n{app.text[-1500:]}")


def paced_once(server: TimedOpenAI | TimedOllama, tokens: int) -> tuple[float, float]:
    """(CPU percent of one core over the stream, chunks a second actually sent)."""
    with TempHome() as home, PtyApp([*r1chat_command(), *server.app_args()], isolated_env(home)) as app:
        start_turn(app, server)
        cpu, wall = app.cpu_seconds(), time.perf_counter()
        if not server.stream_ended.wait(60 + 2 * tokens / 100):
            raise TimeoutError("the paced stream did not end")
        cpu, wall = app.cpu_seconds() - cpu, time.perf_counter() - wall
    return 100 * cpu / wall, server.sent / (server.ended_at - server.started_at)


def _scaled(cpu: float, rate: float, plan: Plan) -> str:
    """A busy machine's server sends slower than asked: what the CPU would be at the rate asked,
    scaled in proportion (an upper bound: the frames' cost does not grow with the tokens)."""
    if rate >= plan.paced_rate * 0.95:
        return ""
    return f" ({cpu * plan.paced_rate / rate:.1f} % scaled to {plan.paced_rate:.0f}/s)"


def paced(plan: Plan, target: Target, server_class: type[TimedOpenAI] | type[TimedOllama],
          chars: int | None, profile: str) -> Figure:
    """CPU over a turn streamed at ``paced_rate``: the fake's word-sized tokens, or (``chars``)
    the same kind of turn cut into tokens of that many characters, one a chunk, as Ollama streams R1."""
    if chars is None:
        reasoning, answer = long_turn(plan.paced_tokens)
        tokens, kind = plan.paced_tokens, "word-sized tokens"
    else:
        reasoning, answer = long_turn(plan.paced_tokens * 4 // 5)  # about paced_tokens chunks of 4 characters
        tokens, kind = len(chunked(reasoning, chars)) + len(chunked(answer, chars)), f"tokens of {chars} characters"
    with server_class(reasoning, answer, delay=1 / plan.paced_rate, chars=chars) as server:
        runs = [paced_once(server, tokens) for _ in range(plan.runs)]
        if plan.profile:  # the same stream through the probe, profiled (not counted)
            _stream_once(server, tokens, plan.profile_env(profile))
    rate = median([r for _, r in runs])
    cpu = median([c for c, _ in runs])
    return target.measured(
        cpu,
        f"{tokens:,} {kind}, trace first, sent at {rate:.0f}/s{_scaled(cpu, rate, plan)}; /proc CPU over the "
        f"stream; median of {len(runs)}",
    )


def measure(plan: Plan) -> list[Figure]:
    return [
        *throughput(plan),
        paced(plan, PACED_CPU, TimedOpenAI, None, "paced"),
        paced(plan, PACED_OLLAMA, TimedOllama, OLLAMA_CHARS, "paced_ollama"),
        paced(plan, PACED_OPENAI_CHARS, TimedOpenAI, OLLAMA_CHARS, "paced_chars"),
    ]

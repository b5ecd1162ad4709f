"""While answers stream: typing in the prompt, and several streams on one screen.

Typing: the app in a 120x40 pty (``probe.py log``) streams an R1 turn from the fake Ollama at 100
tokens a second, four characters a token, while the benchmark types a sentence into the prompt
one key every ``KEY_INTERVAL``; a key's echo time runs from the write to the pty until the frame
that shows the prompt with it has been drawn (the probe notes that frame on the same clock).

Several streams: ``probe.py three`` asks the server for three answers at once through the
session's backend and streams each into an answer of its own in the one conversation view (a
harness, until a compare view exists); the figure is the process's CPU over the three.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.benchmarks.corpus import long_turn
from tests.benchmarks.figures import Figure, Target, median
from tests.benchmarks.plan import PROMPT_MARKER, Plan, probe_command
from tests.benchmarks.pty_app import PtyApp, TempHome, isolated_env
from tests.benchmarks.streaming import start_turn
from tests.benchmarks.timed_server import TimedOllama

ECHO = Target("keystroke to echo while streaming 100 tok/s, p99 (pty)", 50.0, "ms")
THREE = Target("CPU, three streams at 100 tok/s into one screen", 30.0, "%")
TARGETS = [ECHO, THREE]

KEY_INTERVAL = 0.1  # seconds between two keys: a quick typist
TYPED = "the quick brown fox jumps over the lazy dog while the answer streams in "


class Log:
    """The JSON lines ``probe.py log`` appends."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def events(self, name: str) -> list[dict]:
        if not self.path.exists():
            return []
        lines = self.path.read_text().splitlines()
        # The last line may be half written.
        out = []
        for line in lines:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event["event"] == name:
                out.append(event)
        return out

    def wait(self, name: str, count: int, timeout: float, app: PtyApp) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(found := self.events(name)) < count:
            if time.monotonic() > deadline or app.finished:
                raise TimeoutError(f"{count} {name!r} events did not come (saw {len(found)}); last output:\n"
                                   f"{app.text[-1500:]}")
            time.sleep(0.01)
        return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def _echo_once(server: TimedOllama, keys: int) -> list[float]:
    with TempHome() as home:
        log = Log(home / "log.jsonl")
        with PtyApp(probe_command("log", str(log.path), "--", *server.app_args()), isolated_env(home)) as app:
            start_turn(app, server)
            time.sleep(1.0)  # into the stream
            written = []
            text = (TYPED * (keys // len(TYPED) + 1))[:keys]
            for n, char in enumerate(text):
                written.append(time.perf_counter())
                app.write(char.encode())
                time.sleep(max(0.0, written[0] + (n + 1) * KEY_INTERVAL - time.perf_counter()))
            if server.stream_ended.is_set():
                raise RuntimeError("the stream ended before the typing did: make it longer")
            deadline = time.monotonic() + 10
            while len(drawn := [e for e in log.events("prompt") if e["t"] >= written[0]]) < keys:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            server.stream_ended.wait(120)
    # The first frame showing the prompt with n characters echoes the n-th key (the prompt sent
    # before was cleared when it was sent, without an edit).
    shown: dict[int, float] = {}
    for event in drawn:
        for n in range(1, event["length"] + 1):
            shown.setdefault(n, event["t"])
    missing = [n for n in range(1, keys + 1) if n not in shown]
    if missing:
        raise RuntimeError(f"keys {missing[:5]} never showed in the prompt")
    return [1000 * (shown[n] - written[n - 1]) for n in range(1, keys + 1)]


def echo(plan: Plan) -> Figure:
    keys = plan.echo_keys
    # Long enough to outlast the typing: a second in, then a key every KEY_INTERVAL, and some
    # seconds to spare (fewer in the short mode: the run waits for the stream's end).
    spare = 4 if plan.short else 8
    reasoning, answer = long_turn(int((keys * KEY_INTERVAL + spare) * plan.paced_rate * 0.8))
    with TimedOllama(reasoning, answer, delay=1 / plan.paced_rate) as server:
        runs = [_echo_once(server, keys) for _ in range(plan.runs)]
    p99 = [percentile(run, 0.99) for run in runs]
    p50 = median([percentile(run, 0.5) for run in runs])
    worst = median([max(run) for run in runs])
    return ECHO.measured(
        median(p99),
        f"{keys} keys {KEY_INTERVAL * 1000:.0f} ms apart into the prompt while an Ollama turn streams; write to "
        f"the frame drawn: p50 {p50:.0f} ms, max {worst:.0f} ms; median of {len(runs)}",
    )


def _three_once(server: TimedOllama, streams: int) -> dict:
    with TempHome() as home:
        report = home / "report.json"
        command = probe_command("three", str(report), str(streams), "--", *server.app_args())
        with PtyApp(command, isolated_env(home)) as app:
            app.wait_for(PROMPT_MARKER, timeout=60)
            if app.wait_exit(timeout=180) is None:
                raise TimeoutError(f"the three streams did not finish; last output:\n{app.text[-1500:]}")
        if not report.exists():
            raise RuntimeError(f"the probe wrote no report (exit {app.exit_status}):\n{app.text[-1500:]}")
        result = json.loads(report.read_text())
    if "error" in result:
        raise RuntimeError(f"the harness failed: {result['error']}")
    return result


def three(plan: Plan) -> Figure:
    streams = 3
    reasoning, answer = long_turn(plan.three_tokens * 4 // 5)
    with TimedOllama(reasoning, answer, delay=1 / plan.paced_rate) as server:
        reports = [_three_once(server, streams) for _ in range(plan.runs)]
    tokens = reports[0]["tokens"]
    if len(set(tokens)) != 1 or not tokens[0]:
        raise RuntimeError(f"the streams brought {tokens} tokens")
    cpu = median([100 * r["cpu_seconds"] / r["seconds"] for r in reports])
    rate = median([sum(r["tokens"]) / r["seconds"] for r in reports])
    asked = streams * plan.paced_rate  # a busy machine's server sends slower: scaled, an upper bound
    scaled = f" ({cpu * asked / rate:.1f} % scaled to {asked:.0f}/s)" if rate < 0.95 * asked else ""
    return THREE.measured(
        cpu,
        f"{streams} Ollama streams of {tokens[0]:,} tokens at once, {rate:.0f} tok/s in all{scaled}, each into its own "
        f"answer in the conversation view (harness); process CPU over them; median of {len(reports)}",
    )


def measure(plan: Plan) -> list[Figure]:
    return [echo(plan), three(plan)]

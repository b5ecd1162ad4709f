"""Long runs of one app: a session of many turns, and one turn with a very long trace.

Both run the real app in a 120x40 pty through ``probe.py log``, the fake Ollama streaming R1 turns
(trace in ``thinking``, four characters a token), the prompts typed into the terminal.

A long session: ``session_turns`` short turns one after the other in one running app. Each turn
is timed from the Enter written to the pty until the frame with the answer's first token has been
drawn; memory is read when each finished answer has been drawn. The figures compare the last
turns with the tenth: the last twenty turns' median time with that of turns 6 to 25 (a single
turn is one noisy sample), the memory after the last turn with that after the tenth.

A very long trace: one turn of ``long_trace_tokens`` of trace then ``long_answer_tokens`` of answer
at ``long_trace_rate`` tokens a second. While it streams the benchmark reads the app's CPU time
and the server's count of lines sent every 0.1 s, so that the CPU spent on the first and on the
last ``window_tokens`` can be compared. Then ctrl+t unfolds and folds the trace three times, each
timed from the key written until the frame after it has been drawn.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback

from tests.benchmarks.corpus import r1_text
from tests.benchmarks.figures import Figure, Target, median
from tests.benchmarks.live import Log
from tests.benchmarks.plan import PROMPT_MARKER, Plan, probe_command
from tests.benchmarks.pty_app import PtyApp, TempHome, isolated_env
from tests.benchmarks.timed_server import OLLAMA_CHARS, TimedOllama

SESSION_RSS = Target("long session: RSS growth, turn 10 to the last", 30.0, "MB")
SESSION_LATENCY = Target("long session: Enter to first token, last vs turn 10", 1.2, "x")
TRACE_CPU = Target("100k-token trace: CPU/token, last 10k vs first 10k", 1.2, "x")
TRACE_RSS = Target("100k-token trace: RSS growth over the turn", 100.0, "MB")
TRACE_FOLD = Target("100k-token trace: ctrl+t fold/unfold drawn", 100.0, "ms")
TARGETS = [SESSION_RSS, SESSION_LATENCY, TRACE_CPU, TRACE_RSS, TRACE_FOLD]

SESSION_TRACE, SESSION_ANSWER = 600, 400  # characters of each short turn
# Turns whose median stands for "turn 10" and for "the last turn": one turn's time from Enter to
# its first token drawn varies from 60 to 470 ms with where the frames and the collections fall,
# so that the medians of five turns read 0.78x to 2.1x on one build; twenty read within 0.2x.
COMPARED = 20
FOLDS = 3


def _env(home) -> dict[str, str]:
    # A window for a 100,000-token trace and a 300-turn history: at the default 8192 the server
    # cuts the answer off (as Ollama does) and the app asks before sending a history that is cut.
    return isolated_env(home, R1CHAT_NUM_CTX="131072")


def _turn(app: PtyApp, log: Log, server: TimedOllama, n: int, prompt: str) -> tuple[float, float]:
    """Type ``prompt``, send it once it shows. Seconds from Enter to the first token drawn, less
    the fake server's own time (from the request to its first line: its Python reading the whole
    history each turn is no part of the app), and that server time."""
    app.write(prompt.encode())
    deadline = time.monotonic() + 10
    while not any(e["length"] == len(prompt) for e in log.events("prompt")[-3:]):
        if time.monotonic() > deadline:
            raise TimeoutError(f"turn {n}: the prompt did not show; last output:\n{app.text[-1500:]}")
        time.sleep(0.005)
    enter = time.perf_counter()
    app.write(b"\r")
    first = log.wait("first_token", n, 30, app)[-1]
    log.wait("finished", n, 60, app)
    served = server.started_at - server.requested_at
    return first["t"] - enter - served, served


def session(plan: Plan) -> list[Figure]:
    turns = plan.session_turns
    with TimedOllama(r1_text(SESSION_TRACE), r1_text(SESSION_ANSWER, answer=True)) as server, TempHome() as home:
        log = Log(home / "log.jsonl")
        with PtyApp(probe_command("log", str(log.path), "--", *server.app_args()), _env(home)) as app:
            app.wait_for(PROMPT_MARKER, timeout=60)
            time.sleep(0.5)  # let the start-up's connection check finish
            timed = [_turn(app, log, server, n, f"Question {n} on caches, briefly") for n in range(1, turns + 1)]
            finished = log.events("finished")
    latencies, served = [t for t, _ in timed], [s for _, s in timed]
    if any(e["status"] != "done" for e in finished):
        raise RuntimeError(f"turns ended {sorted({e['status'] for e in finished})}")
    early = min(10, turns // 2)  # the tenth turn (in short mode an earlier one)
    compared = min(COMPARED, (turns - 5) // 2)
    window = slice(5, 5 + compared)  # from turn 6 on: the first turns fill the app's caches
    first = median(latencies[window])
    last = median(latencies[-compared:])
    rss = [e["VmRSS"] for e in finished]
    growth = rss[-1] - rss[early - 1]
    return [
        SESSION_RSS.measured(
            max(growth, 0.0),
            f"{turns} turns of {SESSION_TRACE}+{SESSION_ANSWER} characters; VmRSS {rss[early - 1]:.0f} MB after "
            f"turn {early}, {rss[-1]:.0f} MB after turn {turns} (peak {max(e['VmHWM'] for e in finished):.0f} MB)",
        ),
        SESSION_LATENCY.measured(
            last / first,
            f"Enter to first token drawn, less the fake server's time: {last * 1000:.0f} ms (turns "
            f"{turns - compared + 1}-{turns}) vs {first * 1000:.0f} ms (turns 6-{5 + compared}), "
            f"medians; the server's own {1000 * median(served[-compared:]):.0f} vs "
            f"{1000 * median(served[window]):.0f} ms; one run",
        ),
    ]


class Sampler:
    """The app's CPU time and memory against the server's lines sent, every ``period`` seconds."""

    def __init__(self, app: PtyApp, server: TimedOllama, period: float = 0.1) -> None:
        self.samples: list[tuple[int, float, float]] = []  # (lines sent, CPU seconds, VmRSS MB)
        self._app, self._server, self._period = app, server, period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._period)

    def sample(self) -> None:
        try:
            self.samples.append((self._server.sent, self._app.cpu_seconds(), self._app.memory_mb()["VmRSS"]))
        except (OSError, ValueError, KeyError):  # the app is gone
            pass

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def cpu_at(self, sent: int) -> float:
        """CPU seconds when ``sent`` lines had gone out (the first sample at or past it)."""
        found = next((cpu for n, cpu, _ in self.samples if n >= sent), None)
        if found is None:
            last = self.samples[-1] if self.samples else None
            raise RuntimeError(f"no sample at {sent} lines sent ({len(self.samples)} samples, the last {last})")
        return found


def long_trace(plan: Plan) -> list[Figure]:
    reasoning = r1_text(plan.long_trace_tokens * OLLAMA_CHARS)
    answer = r1_text(plan.long_answer_tokens * OLLAMA_CHARS, answer=True)
    window = plan.window_tokens
    with TimedOllama(reasoning, answer, delay=1 / plan.long_trace_rate) as server, TempHome() as home:
        log = Log(home / "log.jsonl")
        with PtyApp(probe_command("log", str(log.path), "--", *server.app_args()), _env(home)) as app:
            app.wait_for(PROMPT_MARKER, timeout=60)
            time.sleep(0.5)
            server.reset()
            rss_before = app.memory_mb()["VmRSS"]
            with Sampler(app, server) as sampler:
                app.write(b"Think about caches for a long time")
                app.wait_for("for a long time", timeout=10)
                app.write(b"\r")
                if not server.stream_started.wait(30):
                    raise TimeoutError(f"the prompt was not sent; last output:\n{app.text[-1500:]}")
                tokens = len(reasoning) // OLLAMA_CHARS + len(answer) // OLLAMA_CHARS
                if not server.stream_ended.wait(120 + 2 * tokens / plan.long_trace_rate):
                    raise TimeoutError("the long turn did not end")
                finished = log.wait("finished", 1, 120, app)[0]
                sampler.sample()  # once the whole stream is in
            sent = server.sent
            if finished["status"] != "done" or sent < tokens:
                raise RuntimeError(f"the turn ended {finished['status']} after {sent:,} of {tokens:,} tokens")
            rate = sent / (server.ended_at - server.started_at)
            folds = []
            for n in range(1, 2 * FOLDS + 1):
                time.sleep(0.3)
                pressed = time.perf_counter()
                app.write(b"\x14")  # ctrl+t
                folds.append(log.wait("toggled", n, 30, app)[-1]["t"] - pressed)
            rss_after = app.memory_mb()["VmRSS"]
    first = sampler.cpu_at(window) - sampler.cpu_at(0)
    last = sampler.cpu_at(sent) - sampler.cpu_at(sent - window)
    per = 1000 / window
    unfold, fold = median(folds[0::2]) * 1000, median(folds[1::2]) * 1000
    return [
        TRACE_CPU.measured(
            last / first,
            f"{len(reasoning) // OLLAMA_CHARS:,} trace + {len(answer) // OLLAMA_CHARS:,} answer tokens at "
            f"{rate:.0f}/s; CPU per 1,000 tokens {last * per * 1000:.0f} ms over the last {window:,}, "
            f"{first * per * 1000:.0f} ms over the first; one run",
        ),
        TRACE_RSS.measured(
            max(finished["VmRSS"] - rss_before, 0.0),
            f"VmRSS {rss_before:.0f} MB before, {finished['VmRSS']:.0f} MB once drawn, {rss_after:.0f} MB after "
            f"the folds (peak {finished['VmHWM']:.0f} MB)",
        ),
        TRACE_FOLD.measured(
            max(unfold, fold),
            f"ctrl+t written to frame drawn, the slower of unfold {unfold:.0f} ms and fold {fold:.0f} ms "
            f"(medians of {FOLDS}); {len(reasoning) // 1000} kB trace",
        ),
    ]


def measure(plan: Plan) -> list[Figure]:
    figures: list[Figure] = []
    # Each part on its own: a long session that fails leaves the long trace's figures measured.
    for part, targets in ((session, [SESSION_RSS, SESSION_LATENCY]), (long_trace, [TRACE_CPU, TRACE_RSS, TRACE_FOLD])):
        try:
            figures += part(plan)
        except Exception as exc:  # noqa: BLE001 - reported in the table, and in full on stderr
            traceback.print_exc(file=sys.stderr)
            figures += [target.failed(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
                        for target in targets]
    return figures

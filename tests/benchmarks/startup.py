"""Start-up: ``r1chat --version``, the first usable frame in a pty, and memory once idle.

The first usable frame is the moment the prompt's placeholder has been written to the terminal:
the chat screen, its prompt and footer are drawn and keys go to the prompt. The floor it is
compared with is ``minimal_app.py`` (one line of text), timed the same way in the same run, the
two alternating so that a busy moment of the machine hits both alike.
"""

from __future__ import annotations

import subprocess
import sys
import time

from tests.benchmarks import minimal_app
from tests.benchmarks.figures import Figure, Target, median
from tests.benchmarks.plan import PROMPT_MARKER, Plan, probe_command, r1chat_command
from tests.benchmarks.pty_app import PtyApp, TempHome, isolated_env
from tests.benchmarks.timed_server import MODEL, TimedOpenAI

VERSION = Target("r1chat --version vs python -c pass", 3.0, "x")
FIRST_FRAME = Target("TUI first usable frame (pty)", 0.5, "s")
FIRST_FRAME_RATIO = Target("TUI first frame vs minimal Textual app", 1.5, "x")
IDLE_RSS = Target("idle RSS after start", 80.0, "MB")
TARGETS = [VERSION, FIRST_FRAME, FIRST_FRAME_RATIO, IDLE_RSS]

IDLE_AFTER = 1.0  # seconds after the first frame when idle memory is read


def _wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def version(plan: Plan) -> Figure:
    with TempHome() as home:
        env = isolated_env(home)
        python, r1chat = [sys.executable, "-c", "pass"], [*r1chat_command(), "--version"]
        _wall(python, env), _wall(r1chat, env)  # warm the file cache
        pairs = [(_wall(python, env), _wall(r1chat, env)) for _ in range(plan.runs * 5)]
    bare, ours = median([p for p, _ in pairs]), median([r for _, r in pairs])
    return VERSION.measured(ours / bare, f"{ours * 1000:.0f} ms vs {bare * 1000:.0f} ms, median of {len(pairs)}")


def _first_frame(command: list[str], marker: str, env: dict[str, str], *, idle: bool = False) -> tuple[float, float | None]:
    with PtyApp(command, env) as app:
        app.watch(marker)
        seconds = app.wait_for(marker, timeout=60)
        rss = None
        if idle:
            time.sleep(IDLE_AFTER)
            rss = app.memory_mb()["VmRSS"]
    return seconds, rss


def first_frame(plan: Plan) -> list[Figure]:
    minimal = [sys.executable, minimal_app.__file__]
    with TempHome() as home, TimedOpenAI("Fine.", "Yes.") as server:
        options = ["--base-url", server.base_url, "--model", MODEL]
        ours = [*r1chat_command(), *options]
        env = isolated_env(home)
        _first_frame(minimal, minimal_app.MARKER, env), _first_frame(ours, PROMPT_MARKER, env)  # warm-up
        floor, frames, rss = [], [], []
        for _ in range(plan.runs):
            floor.append(_first_frame(minimal, minimal_app.MARKER, env)[0])
            seconds, idle = _first_frame(ours, PROMPT_MARKER, env, idle=True)
            frames.append(seconds)
            rss.append(idle)
        if plan.profile:  # one more start, profiled from before the first import to the frame
            profiled = probe_command("start", str(home / "start.json"), "--", *options)
            with PtyApp(profiled, isolated_env(home, **plan.profile_env("start"))) as app:
                app.wait_for(PROMPT_MARKER, timeout=60)
                app.wait_exit(timeout=30)
    frame, base = median(frames), median(floor)
    runs = f"median of {len(frames)}"
    return [
        FIRST_FRAME.measured(frame, f"{runs}; 120x40 pty, spawn to the prompt's placeholder"),
        FIRST_FRAME_RATIO.measured(frame / base, f"{frame:.3f} s vs {base:.3f} s, {runs}"),
        IDLE_RSS.measured(median(rss), f"VmRSS {IDLE_AFTER:g} s after the first frame, {runs}"),
    ]


def measure(plan: Plan) -> list[Figure]:
    return [version(plan), *first_frame(plan)]

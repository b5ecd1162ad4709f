"""How big and how many: the full benchmark (the issue's sizes) or the short one CI runs."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

PROMPT_MARKER = "Ask anything"  # the prompt's placeholder: the chat screen is drawn and usable


@dataclass(frozen=True)
class Plan:
    short: bool = False
    runs: int = 3  # each figure is the median of this many runs (cheap ones take 5x as many)
    turn_tokens: int = 20_000  # the long turn streamed as fast as the server can send it
    paced_tokens: int = 3_000  # streamed at paced_rate for the CPU figure
    paced_rate: float = 100.0
    conversation_messages: int = 1_000
    echo_keys: int = 200  # keys typed while a turn streams
    three_tokens: int = 2_000  # each of the three streams at once
    session_turns: int = 300  # turns in one running app
    long_trace_tokens: int = 100_000  # one turn's trace, then long_answer_tokens of answer
    long_answer_tokens: int = 5_000
    long_trace_rate: float = 300.0
    window_tokens: int = 10_000  # the first and last stretch whose CPU per token is compared
    year: bool = True  # the database of a year of use (built once, cached)
    fresh_venv: bool = True  # installed size from a new venv (False: from the running one)
    profile: str | None = None  # a directory: probe runs also write cProfile stats there

    def profile_env(self, name: str) -> dict[str, str]:
        """Environment for a probe run that should write ``name``.prof (nothing unless profiling)."""
        if not self.profile:
            return {}
        folder = Path(self.profile).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return {"R1CHAT_BENCH_PROFILE": str(folder / f"{name}.prof")}

    @classmethod
    def full(cls, runs: int | None = None) -> Plan:
        return cls(runs=runs or 3)

    @classmethod
    def quick(cls, runs: int | None = None) -> Plan:
        # Paced at 300 tokens a second, not 100: the short mode only shows that every figure
        # still comes out, and the paced runs were a fifth of its minute.
        return cls(short=True, runs=runs or 1, turn_tokens=2_000, paced_tokens=300, paced_rate=300.0,
                   conversation_messages=200, fresh_venv=False, echo_keys=20, three_tokens=200,
                   session_turns=10, long_trace_tokens=3_000, long_answer_tokens=500, long_trace_rate=1000.0,
                   window_tokens=1_000, year=False)


def r1chat_command() -> list[str]:
    """The installed ``r1chat`` script of this interpreter's environment, as a user runs it."""
    script = Path(sys.executable).with_name("r1chat")
    return [str(script)] if script.exists() else [sys.executable, "-m", "r1chat"]


def probe_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tests.benchmarks.probe", *args]

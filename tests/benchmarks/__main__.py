"""Run the benchmarks and print the table: figure, target, measured (median), pass/fail.

    python -m tests.benchmarks              # the issue's sizes, 3 runs of each
    python -m tests.benchmarks --short      # smaller sizes, 1 run: what CI runs
    python -m tests.benchmarks --runs 5 --only startup streaming --json results.json

Missed targets do not change the exit status unless ``--strict`` is given (timings on a shared
machine are noisy); a benchmark that could not measure its figures always does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
import traceback

from tests.benchmarks import install_size, live, long_runs, open_conversation, startup, streaming, year
from tests.benchmarks.figures import Figure, table
from tests.benchmarks.plan import Plan

BENCHMARKS = {
    "startup": startup,
    "streaming": streaming,
    "open_conversation": open_conversation,
    "install_size": install_size,
    "live": live,
    "year": year,
    "long_runs": long_runs,
}


def run(plan: Plan, only: list[str] | None = None, log=sys.stderr) -> list[Figure]:
    figures: list[Figure] = []
    for name, module in BENCHMARKS.items():
        if only and name not in only:
            continue
        started = time.monotonic()
        print(f"{name}...", end="", flush=True, file=log)
        try:
            figures += module.measure(plan)
        except Exception as exc:  # noqa: BLE001 - reported in the table, and in full below it
            traceback.print_exc(file=log)
            figures += [target.failed(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
                        for target in module.TARGETS]
        print(f" {time.monotonic() - started:.0f} s", file=log, flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="smaller sizes and one run: a check that it all works")
    parser.add_argument("--runs", type=int, help="runs of each figure, whose median is reported (default 3; short 1)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these benchmarks")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--profile", metavar="DIR", help="one more run of each app figure under cProfile (not "
                        "counted), writing DIR/start.prof, stream.prof, paced.prof, paced_ollama.prof, paced_chars.prof and "
                        "open.prof")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    plan = Plan.quick(args.runs) if args.short else Plan.full(args.runs)
    if args.profile:
        plan = dataclasses.replace(plan, profile=args.profile)
    load_before = os.getloadavg()[0]
    figures = run(plan, args.only)
    mode = "short" if plan.short else "full"
    print(f"r1chat benchmarks ({mode} sizes, median of {plan.runs} runs); {os.cpu_count()} cores, "
          f"load average {load_before:.2f} at the start and {os.getloadavg()[0]:.2f} at the end\n")
    print(table(figures))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"plan": dataclasses.asdict(plan), "figures": [f.to_dict() for f in figures]}, out, indent=2)
    if any(f.value is None for f in figures):
        return 2
    if args.strict and not all(f.passed for f in figures):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

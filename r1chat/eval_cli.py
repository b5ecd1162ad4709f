"""``r1chat eval PROBLEMS -m A -m B [--samples K] [--limit N]``: the verb over r1chat/evals.py.

Prints, per model: solved / total, pass@1 with its 95% Wilson interval, mean trace tokens, mean
seconds, cost where known, then the problems each model got wrong; ``--json`` (a line per model),
``--csv`` or ``--markdown`` instead. On a terminal, stderr shows a progress bar with the time left.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from typing import TYPE_CHECKING, Any, TextIO

from r1chat.cli import EXIT_FAIL, EXIT_OK, Failure, _provider, _settings, _store

if TYPE_CHECKING:
    from r1chat.evals import Problem, Progress, Report


def problems_of(args: argparse.Namespace) -> list[Problem]:
    from pathlib import Path

    from r1chat.evals import ProblemsError, builtin_problems, load_problems

    if args.builtin == (args.problems is not None):
        raise Failure("Give a problem file (JSONL: id, prompt, answer a line) or --builtin, one of the two.")
    if args.samples < 1:
        raise Failure(f"--samples should be 1 or more, not {args.samples}.")
    if args.limit is not None and args.limit < 1:
        raise Failure(f"--limit should be 1 or more, not {args.limit}.")
    try:
        problems = builtin_problems() if args.builtin else load_problems(Path(args.problems))
    except ProblemsError as exc:
        raise Failure(str(exc)) from None
    return problems[: args.limit] if args.limit is not None else problems


class ProgressBar:
    """``[######------] 12/40 · deepseek-r1:8b@ollama · 3m12s left`` on stderr, redrawn per sample."""

    WIDTH = 24

    def __init__(self, err: TextIO = sys.stderr) -> None:
        self.err = err
        self.drawn = False

    def show(self, progress: Progress) -> None:
        from r1chat.sanitize import strip_controls
        from r1chat.units import human_duration

        filled = self.WIDTH * progress.done // max(progress.total, 1)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        eta = progress.eta
        left = f" · {human_duration(eta)} left" if eta is not None else ""
        self.err.write(f"\r\x1b[2K[{bar}] {progress.done}/{progress.total} · {strip_controls(str(progress.ref))}{left}")
        self.err.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.err.write("\r\x1b[2K")
            self.err.flush()
            self.drawn = False


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def summary_rows(reports: list[Report]) -> list[list[str]]:
    from r1chat.compare_cli import cost_text

    rows = [["model", "provider", "solved", "pass@1", "95% CI", "trace tok", "seconds", "cost"]]
    for r in reports:
        low, high = r.ci95
        rows.append([
            r.ref.model, r.ref.provider, f"{r.solved}/{len(r.problems)}", percent(r.pass_at_1),
            f"{percent(low)}–{percent(high)}",
            f"{r.mean_trace_tokens:,.0f}" if r.mean_trace_tokens is not None else "-",
            f"{r.mean_seconds:.1f}" if r.mean_seconds is not None else "-",
            cost_text(r.cost),
        ])
    return rows


def notes(report: Report) -> list[str]:
    """What to say under the table about one model: what it got wrong, what failed."""
    name = str(report.ref)
    if report.error and not report.results:
        return [f"{name} was not run (see the error)"]
    said = [f"{name} got wrong: {', '.join(report.wrong)}" if report.wrong else f"{name} got every problem right"]
    if report.failed:
        said.append(f"{name}: {report.failed} sample(s) got no answer (an error; counted as wrong, --resume sends them again)")
    if report.error:
        said.append(f"{name}: stopped before the end (see the error); --resume goes on")
    return said


def write_text(reports: list[Report], samples: int, out: TextIO) -> None:
    from r1chat.cli import _table
    from r1chat.sanitize import strip_controls

    _table([[strip_controls(cell) for cell in row] for row in summary_rows(reports)], out)
    if samples > 1:
        out.write(f"pass@1: each problem's mean over its {samples} samples, averaged over the problems; "
                  "solved: right in at least half the samples\n")
    out.write("\n")
    for report in reports:
        for line in notes(report):
            out.write(strip_controls(line) + "\n")


def write_markdown(reports: list[Report], out: TextIO) -> None:
    from r1chat.sanitize import strip_controls

    rows = summary_rows(reports)
    cells = [[strip_controls(c).replace("|", "\\|") for c in row] for row in rows]
    out.write("| " + " | ".join(cells[0]) + " |\n")
    out.write("|" + "|".join("---" for _ in cells[0]) + "|\n")
    for row in cells[1:]:
        out.write("| " + " | ".join(row) + " |\n")
    out.write("\n")
    for report in reports:
        for line in notes(report):
            out.write(f"- {strip_controls(line)}\n")


def write_csv(reports: list[Report], out: TextIO) -> None:
    from r1chat.sanitize import strip_controls

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["model", "provider", "problems", "samples", "solved", "pass_at_1", "ci95_low", "ci95_high",
                     "mean_trace_tokens", "mean_seconds", "cost", "failed_samples", "wrong"])
    for r in reports:
        data = r.to_dict()
        writer.writerow([
            r.ref.model, r.ref.provider, data["problems"], data["samples"], data["solved"], data["pass_at_1"],
            data["ci95"][0], data["ci95"][1], _blank(data["mean_trace_tokens"]), _blank(data["mean_seconds"]),
            _blank(data["cost"]), data["failed_samples"], " ".join(data["wrong"]),
        ])
    out.write(strip_controls(buffer.getvalue()))


def _blank(value: Any) -> Any:
    return "" if value is None else value


async def evaluate(args: argparse.Namespace) -> int:
    from r1chat.backends import MissingSetting, open_backend
    from r1chat.backends.base import Backend, ChatOptions
    from r1chat.compare_cli import model_refs
    from r1chat.config import ConfigError
    from r1chat.evals import TEMPERATURE, TOP_P, Evaluation
    from r1chat.refs import ModelRef
    from r1chat.sanitize import strip_controls, to_json
    from r1chat.store import StoreError
    from r1chat.units import human_date

    settings = _settings(args)
    default = _provider(args, settings)
    refs = model_refs(args, settings, default.name)
    if not refs:
        raise Failure("Name the models to grade: r1chat eval PROBLEMS -m MODEL [-m MODEL@PROVIDER ...]")
    problems = problems_of(args)
    options = ChatOptions(
        temperature=args.temperature if args.temperature is not None else settings.temperature or TEMPERATURE,
        top_p=args.top_p if args.top_p is not None else settings.top_p or TOP_P,
        num_ctx=args.num_ctx or settings.num_ctx,
        keep_alive=settings.keep_alive,
    )
    backends: dict[str, Backend] = {}
    store = _store(recover=False)
    bar = ProgressBar() if sys.stderr.isatty() else None
    try:
        evaluation = Evaluation(store, problems, samples=args.samples, options=options, resume=args.resume,
                                fresh=args.fresh, on_progress=bar.show if bar is not None else None)
        for ref in refs:
            provider = default if ref.provider == default.name else settings.provider_config(ref.provider)
            model = ref.model or (settings.model if provider.name == settings.provider else None) or provider.model
            if not model:
                raise Failure(f"No model given for {ref.provider}: name one, as MODEL@{ref.provider}.")
            if provider.name not in backends:
                backends[provider.name] = open_backend(provider, settings)
            report = evaluation.add(ModelRef(model, ref.provider), provider, backends[provider.name])
            if report.reused and not args.json:
                when = human_date(report.stored_at)
                print(f"r1chat: {strip_controls(str(report.ref))}: the results stored on {when} "
                      "(these settings ran before; --fresh runs them again)", file=sys.stderr)
        reports = await evaluation.run()
    except (StoreError, MissingSetting, ConfigError) as exc:
        raise Failure(str(exc)) from None
    finally:
        if bar is not None:
            bar.finish()
        for backend in backends.values():
            await backend.aclose()
        store.close()
    out = sys.stdout
    if args.json:
        for report in reports:
            out.write(to_json(report.to_dict()) + "\n")
    elif args.csv:
        write_csv(reports, out)
    elif args.markdown:
        write_markdown(reports, out)
    else:
        write_text(reports, args.samples, out)
    out.flush()
    for report in reports:
        if report.error:
            print(f"r1chat: {strip_controls(str(report.ref))}: {strip_controls(report.error)}", file=sys.stderr)
    if evaluation.save_error is not None:
        print(f"r1chat: some graded samples are not stored ({strip_controls(str(evaluation.save_error))}); "
              "a later --resume sends them again", file=sys.stderr)
    return EXIT_FAIL if any(report.error for report in reports) or evaluation.save_error else EXIT_OK

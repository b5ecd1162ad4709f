r"""``r1chat eval``: a problem set sent to several models, each answer graded, pass@1 per model.

Each prompt goes out alone (no conversation, no system prompt) with the R1 math directive, at the
model card's sampling (temperature 0.6, top_p 0.95) unless the user says otherwise; the final
answer (``\boxed{}``, else the last line) is graded against the problem's answer by
``r1chat.grade``. pass@1 is each problem's mean over its K samples, averaged over problems, with a
95% Wilson interval over problems (n = the number of problems).

Runs are stored apart from conversations (tables ``eval_runs`` and ``eval_samples``: not in the
history list, not in search), one run per model and settings. A run with the same settings as a
stored, complete one reports it without a request (``fresh`` runs again); ``resume`` goes on with
the newest stored run of those settings, sending only the samples not graded yet. A sample is
stored as soon as it is graded, so a stopped run loses at most the samples in flight.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1chat import presets
from r1chat.backends import backend_url
from r1chat.backends.base import (
    AuthFailed,
    Backend,
    BackendError,
    ChatOptions,
    Content,
    Done,
    InsufficientBalance,
    ModelNotFound,
    Reasoning,
    TurnStats,
    Unreachable,
)
from r1chat.config import ProviderConfig
from r1chat.conversation import History, Message, Role
from r1chat.grade import KINDS, final_answer, same
from r1chat.refs import ModelRef
from r1chat.store import Store, StoreError

# The model card's recipe for R1 on math (and for its distills).
TEMPERATURE = 0.6
TOP_P = 0.95
# z for a 95% interval.
Z95 = 1.959963984540054
# Failures that will not go away by asking again: the model's run ends at the first.
FATAL = (Unreachable, ModelNotFound, AuthFailed, InsufficientBalance)


class ProblemsError(Exception):
    """A problem file that cannot be used; the message names the file and the line."""


@dataclass(frozen=True, slots=True)
class Problem:
    id: str
    prompt: str
    answer: str
    kind: str = "auto"

    @property
    def key(self) -> str:
        """The problem as stored: its id and a digest of its text, so an edited problem is run again."""
        digest = hashlib.sha256(f"{self.prompt}\0{self.answer}\0{self.kind}".encode()).hexdigest()[:12]
        return f"{self.id}#{digest}"


def load_problems(path: Path) -> list[Problem]:
    """The problems of a JSONL file: one object a line with ``id``, ``prompt``, ``answer`` and
    optionally ``kind`` (number, expression, choice, text). Raises ProblemsError."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemsError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    problems: list[Problem] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            data = json.loads(line)
        except ValueError:
            raise ProblemsError(f"{where}: not a JSON object") from None
        problem = problem_from(data, where)
        if problem.id in seen:
            raise ProblemsError(f"{where}: the id {problem.id!r} is used twice")
        seen.add(problem.id)
        problems.append(problem)
    if not problems:
        raise ProblemsError(f"{path}: holds no problems (one JSON object a line: id, prompt, answer)")
    return problems


def problem_from(data: Any, where: str) -> Problem:
    if not isinstance(data, dict):
        raise ProblemsError(f"{where}: not a JSON object")
    for key in ("id", "prompt", "answer"):
        if key not in data:
            raise ProblemsError(f"{where}: has no {key!r}")
    ident, prompt, answer, kind = data["id"], data["prompt"], data["answer"], data.get("kind", "auto")
    if isinstance(ident, bool) or not isinstance(ident, (str, int)) or not str(ident).strip():
        raise ProblemsError(f"{where}: 'id' should be a string or a number")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ProblemsError(f"{where}: 'prompt' should be text")
    if isinstance(answer, bool) or not isinstance(answer, (str, int, float)) or not str(answer).strip():
        raise ProblemsError(f"{where}: 'answer' should be text or a number")
    if kind not in KINDS:
        raise ProblemsError(f"{where}: 'kind' should be one of {', '.join(k for k in KINDS if k != 'auto')}, not {kind!r}")
    return Problem(str(ident).strip(), prompt, str(answer).strip(), kind)


def builtin_problems() -> list[Problem]:
    from r1chat.builtin_problems import PROBLEMS

    return [Problem(*row) for row in PROBLEMS]


# --- one sample --------------------------------------------------------------------------------


@dataclass(slots=True)
class Sample:
    """One answer to one problem, graded (``correct`` None: it failed before an answer)."""

    problem: str  # the problem's id
    sample: int
    status: str  # "done" or "error"
    correct: bool | None = None
    final_answer: str | None = None
    answer: str = ""
    reasoning: str = ""
    trace_tokens: int | None = None
    answer_tokens: int | None = None
    seconds: float | None = None
    cost: float | None = None
    error: str | None = None

    @property
    def graded(self) -> bool:
        return self.correct is not None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sample:
        return cls(**{k: v for k, v in data.items() if k in cls.__slots__})


async def ask(backend: Backend, model: str, problem: Problem, options: ChatOptions, sample: int,
              provider: ProviderConfig | None = None) -> Sample:
    """Send one problem once and grade the answer. Raises BackendError."""
    prompt = presets.apply(problem.prompt, presets.MATH)
    history = History("", (Message(Role.USER, prompt),))
    reasoning: list[str] = []
    content: list[str] = []
    stats = TurnStats()
    began = time.monotonic()
    async for event in backend.chat(model, history, options):
        if isinstance(event, Reasoning):
            reasoning.append(event.text)
        elif isinstance(event, Content):
            content.append(event.text)
        elif isinstance(event, Done):
            stats = event.stats
    seconds = time.monotonic() - began
    trace, answer = "".join(reasoning), "".join(content)
    if stats.reasoning_was_answer:
        trace, answer = "", trace + answer
    trace_tokens = stats.reasoning_tokens if stats.reasoning_tokens is not None else len(reasoning)
    trace_tokens = trace_tokens if trace else 0
    total = stats.completion_tokens
    answer_tokens = total - trace_tokens if total is not None and total >= trace_tokens else None
    final = final_answer(answer)
    cost = stats.cost
    if cost is None and provider is not None:
        cost = provider.cost(stats.prompt_tokens, stats.completion_tokens)
    return Sample(
        problem.id, sample, "done",
        correct=final is not None and same(final, problem.answer, problem.kind),
        final_answer=final, answer=answer, reasoning=trace,
        trace_tokens=trace_tokens, answer_tokens=answer_tokens, seconds=round(seconds, 3), cost=cost,
    )


# --- a model's report --------------------------------------------------------------------------


def wilson(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``p`` over ``n`` trials."""
    if n <= 0:
        return (0.0, 1.0)
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(slots=True)
class Report:
    """One model's run over the problems: its samples as stored, and the figures from them."""

    ref: ModelRef
    problems: list[Problem]
    samples: int
    results: dict[tuple[str, int], Sample] = field(default_factory=dict)  # (problem id, sample)
    run_id: int | None = None
    reused: bool = False  # every figure comes from a run stored before
    stored_at: float | None = None  # when the stored run it goes on with began
    error: str | None = None  # why the model's run ended early

    def rate(self, problem: Problem) -> float:
        """The share of the problem's K samples answered right (a missing one counts as wrong)."""
        right = sum(1 for n in range(self.samples) if (s := self.results.get((problem.id, n))) and s.correct)
        return right / self.samples

    @property
    def pass_at_1(self) -> float:
        return sum(self.rate(p) for p in self.problems) / len(self.problems) if self.problems else 0.0

    @property
    def ci95(self) -> tuple[float, float]:
        return wilson(self.pass_at_1, len(self.problems))

    @property
    def solved(self) -> int:
        """Problems answered right in at least half their samples (with one sample: right)."""
        return sum(1 for p in self.problems if self.rate(p) >= 0.5)

    @property
    def wrong(self) -> list[str]:
        return [p.id for p in self.problems if self.rate(p) < 0.5]

    @property
    def failed(self) -> int:
        """Samples that got no answer (an error), counted as wrong."""
        return sum(1 for s in self.results.values() if not s.graded)

    def _mean(self, values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    @property
    def mean_trace_tokens(self) -> float | None:
        return self._mean([s.trace_tokens for s in self.results.values() if s.graded and s.trace_tokens is not None])

    @property
    def mean_seconds(self) -> float | None:
        return self._mean([s.seconds for s in self.results.values() if s.graded and s.seconds is not None])

    @property
    def cost(self) -> float | None:
        costs = [s.cost for s in self.results.values() if s.cost is not None]
        return sum(costs) if costs else None

    def to_dict(self) -> dict[str, Any]:
        low, high = self.ci95
        expected = {p.id: p.answer for p in self.problems}
        return {
            "model": self.ref.model,
            "provider": self.ref.provider,
            "problems": len(self.problems),
            "samples": self.samples,
            "solved": self.solved,
            "pass_at_1": round(self.pass_at_1, 6),
            "ci95": [round(low, 6), round(high, 6)],
            "mean_trace_tokens": _round(self.mean_trace_tokens, 1),
            "mean_seconds": _round(self.mean_seconds, 3),
            "cost": _round(self.cost, 8),
            "wrong": self.wrong,
            "failed_samples": self.failed,
            "stored_run": self.run_id,
            "reused": self.reused,
            "error": self.error,
            "results": [
                {**{k: v for k, v in self.results[key].to_dict().items() if k not in ("answer", "reasoning")},
                 "expected": expected[key[0]]}
                for key in sorted(self.results, key=lambda k: (self._order(k[0]), k[1]))
            ],
        }

    def _order(self, problem_id: str) -> int:
        return next((i for i, p in enumerate(self.problems) if p.id == problem_id), len(self.problems))


def _round(value: float | None, places: int) -> float | None:
    return round(value, places) if value is not None else None


# --- running -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    """A sample finished: ``done`` of ``total`` to send in this run (stored ones not counted)."""

    done: int
    total: int
    ref: ModelRef
    elapsed: float

    @property
    def eta(self) -> float | None:
        if not self.done or self.done >= self.total:
            return None
        return self.elapsed / self.done * (self.total - self.done)


@dataclass(slots=True)
class Entry:
    """A model to run: where it is, and the report being filled."""

    ref: ModelRef
    provider: ProviderConfig
    backend: Backend
    report: Report
    todo: list[tuple[Problem, int]] = field(default_factory=list)

    @property
    def lane(self) -> str:
        return f"#{self.ref}" if self.provider.runs_in_parallel else backend_url(self.provider)


def run_key(ref: ModelRef, url: str, samples: int, options: ChatOptions) -> tuple[str, dict[str, Any]]:
    """What makes two runs the same: the model and where it runs, K, the sampling, the directive."""
    settings = {
        "model": ref.model, "provider": ref.provider, "url": url, "samples": samples,
        "temperature": options.temperature, "top_p": options.top_p, "num_ctx": options.num_ctx,
        "directive": presets.MATH,
    }
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:24]
    return key, settings


class Evaluation:
    """Several models over one problem set: plan (what is stored, what to send), then run."""

    def __init__(
        self,
        store: Store,
        problems: Sequence[Problem],
        *,
        samples: int = 1,
        options: ChatOptions,
        resume: bool = False,
        fresh: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        if samples < 1:
            raise ValueError("samples must be 1 or more")
        self.store = store
        self.problems = list(problems)
        self.samples = samples
        self.options = options
        self.resume, self.fresh = resume, fresh
        self.on_progress = on_progress
        self.entries: list[Entry] = []
        self._done = 0
        self._began = 0.0
        self.save_error: StoreError | None = None  # why graded samples were not stored, if any

    def add(self, ref: ModelRef, provider: ProviderConfig, backend: Backend) -> Report:
        """Plan a model's run: which stored run it goes on with, which samples it still needs.
        Raises StoreError."""
        report = Report(ref, self.problems, self.samples)
        key, settings = run_key(ref, backend_url(provider), self.samples, self.options)
        wanted = [(problem, n) for problem in self.problems for n in range(self.samples)]
        latest = None if self.fresh else self.store.latest_eval_run(key)
        stored = self.store.eval_samples(latest[0]) if latest is not None else {}
        graded = {k: Sample.from_dict(v) for k, v in stored.items() if v.get("correct") is not None}
        complete = all((problem.key, n) in graded for problem, n in wanted)
        if latest is not None and (complete or self.resume):
            report.run_id, report.reused, report.stored_at = latest[0], complete, latest[1]
            for problem, n in wanted:
                if (sample := graded.get((problem.key, n))) is not None:
                    report.results[(problem.id, n)] = sample
        entry = Entry(ref, provider, backend, report)
        entry.todo = [(p, n) for p, n in wanted if (p.id, n) not in report.results]
        if entry.todo and report.run_id is None:
            report.run_id = self.store.add_eval_run(key, ref.model, ref.provider, self.samples, settings)
        self.entries.append(entry)
        return report

    @property
    def to_send(self) -> int:
        return sum(len(entry.todo) for entry in self.entries)

    async def run(self) -> list[Report]:
        """Send every planned sample: one model after another on a host that answers one at a
        time, hosts at once. A sample that cannot be stored is still reported (``save_error``)."""
        self._began = time.monotonic()
        waiting = [entry for entry in self.entries if entry.todo]
        if waiting and self.on_progress is not None:
            self.on_progress(Progress(0, self.to_send, waiting[0].ref, 0.0))
        lanes: dict[str, list[Entry]] = {}
        for entry in self.entries:
            lanes.setdefault(entry.lane, []).append(entry)
        tasks = [asyncio.create_task(self._run_lane(queue)) for queue in lanes.values()]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return [entry.report for entry in self.entries]

    async def _run_lane(self, queue: list[Entry]) -> None:
        for entry in queue:
            await self._run_entry(entry)

    async def _run_entry(self, entry: Entry) -> None:
        report = entry.report
        assert report.run_id is not None or not entry.todo
        for problem, n in entry.todo:
            try:
                sample = await ask(entry.backend, entry.ref.model, problem, self.options, n, entry.provider)
            except FATAL as exc:
                report.error = str(exc)
                return
            except BackendError as exc:
                sample = Sample(problem.id, n, "error", error=str(exc))
            report.results[(problem.id, n)] = sample
            assert report.run_id is not None
            try:
                self.store.save_eval_sample(report.run_id, problem.key, n, sample.to_dict())
            except StoreError as exc:  # a full disk: the run goes on and reports what it graded
                self.save_error = exc
            self._done += 1
            if self.on_progress is not None:
                self.on_progress(Progress(self._done, self.to_send, entry.ref, time.monotonic() - self._began))


__all__ = [
    "Evaluation",
    "Problem",
    "ProblemsError",
    "Progress",
    "Report",
    "Sample",
    "builtin_problems",
    "load_problems",
    "wilson",
]

"""pass@1 and its interval, from graded samples."""

from __future__ import annotations

import pytest

from r1chat.evals import Problem, Report, Sample, wilson
from r1chat.refs import ModelRef


def test_the_wilson_interval_matches_the_published_figures():
    # 2 of 5: 0.1176 to 0.7693 (Wilson 1927; the usual tables).
    assert wilson(0.4, 5) == pytest.approx((0.1176, 0.7693), abs=1e-4)
    # 0 of 10 still has room above zero; 10 of 10 below one.
    assert wilson(0.0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(1.0, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)


def test_pass_at_1_averages_each_problems_samples_over_the_problems():
    problems = [Problem("a", "?", "1"), Problem("b", "?", "2"), Problem("c", "?", "3"), Problem("d", "?", "4")]
    report = Report(ModelRef("m", "ollama"), problems, samples=2)
    marks = {"a": [True, True], "b": [True, False], "c": [False, False], "d": [True, None]}
    for problem, graded in marks.items():
        for n, correct in enumerate(graded):
            status = "done" if correct is not None else "error"
            report.results[(problem, n)] = Sample(problem, n, status, correct=correct, trace_tokens=100 * (n + 1),
                                                  seconds=2.0, cost=0.01)

    assert report.pass_at_1 == pytest.approx((1 + 0.5 + 0 + 0.5) / 4)
    assert report.solved == 3 and report.wrong == ["c"]
    assert report.failed == 1
    assert report.mean_trace_tokens == pytest.approx((100 + 200 + 100 + 200 + 100 + 200 + 100) / 7)
    assert report.cost == pytest.approx(0.08)
    data = report.to_dict()
    assert data["pass_at_1"] == 0.5 and data["ci95"] == [round(x, 6) for x in wilson(0.5, 4)]
    assert [r["problem"] for r in data["results"]] == ["a", "a", "b", "b", "c", "c", "d", "d"]


def test_a_missing_sample_counts_as_wrong():
    report = Report(ModelRef("m", "ollama"), [Problem("a", "?", "1")], samples=3)
    report.results[("a", 0)] = Sample("a", 0, "done", correct=True)
    assert report.pass_at_1 == pytest.approx(1 / 3)


async def test_a_full_disk_keeps_the_run_going_and_reports_what_it_graded(store, ollama):
    from r1chat.backends.base import ChatOptions
    from r1chat.backends.ollama import OllamaBackend
    from r1chat.config import ProviderConfig
    from r1chat.evals import Evaluation
    from tests.unit.test_disk_full import LONG_TRACE

    ollama.find("deepseek-r1:8b")[1].reasoning = LONG_TRACE  # a sample that needs new pages
    problems = [Problem("p1", "What is 17 * 23?", "391"), Problem("p2", "And 17 * 24?", "408")]
    backend = OllamaBackend(ollama.url)
    evaluation = Evaluation(store, problems, options=ChatOptions(temperature=0.6))
    evaluation.add(ModelRef("deepseek-r1:8b", "ollama"), ProviderConfig("ollama", kind="ollama", url=ollama.url), backend)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full from here on
    try:
        [report] = await evaluation.run()
    finally:
        await backend.aclose()

    assert evaluation.save_error is not None and "full" in str(evaluation.save_error)
    assert report.pass_at_1 == 0.5 and report.wrong == ["p2"]  # every fake answer is 391

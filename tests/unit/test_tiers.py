"""The fast tier holds no test that starts a process: tests/conftest.py fails one that does."""

import pytest

from tests.conftest import REPO

TESTS = """
import subprocess

import pytest


def test_starts_a_process_unmarked():
    subprocess.run(["true"], check=True)


@pytest.mark.process
def test_starts_a_process_marked():
    subprocess.run(["true"], check=True)


def test_starts_nothing():
    pass


@pytest.mark.slow
def test_slow_and_starts_nothing():
    pass


@pytest.mark.slow
def test_slow_and_starts_a_process():
    subprocess.run(["true"], check=True)
"""


# The snapshot plugin keeps one temporary folder per process and removes it when a session ends.
ALONE = ("-p", "no:cacheprovider", "-p", "no:textual-snapshot")


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest((REPO / "tests" / "conftest.py").read_text())
    pytester.makepyfile(test_spawns=TESTS)
    return pytester


@pytest.mark.process  # the tests it runs start `true`, in this process
def test_a_test_that_starts_a_process_unmarked_fails_and_a_marked_one_passes(suite: pytest.Pytester):
    result = suite.runpytest(*ALONE, "-k", "not slow")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_starts_a_process_unmarked*"])
    result.stdout.fnmatch_lines(["*cannot sit in the fast tier*subprocess.Popen*true*"])


@pytest.mark.process
def test_the_fast_tier_leaves_out_the_marked_test(suite: pytest.Pytester):
    result = suite.runpytest(*ALONE, "--tier", "fast", "-k", "process_marked or nothing")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*1 passed, 4 deselected*"])


@pytest.mark.process
def test_a_slow_test_runs_with_the_parallel_round_not_the_fast_tier(suite: pytest.Pytester):
    fast = suite.runpytest(*ALONE, "--tier", "fast", "-k", "nothing", "-v")
    fast.assert_outcomes(passed=1)
    fast.stdout.fnmatch_lines(["*::test_starts_nothing PASSED*"])
    parallel = suite.runpytest(*ALONE, "--tier", "parallel", "-k", "nothing", "-v")
    parallel.assert_outcomes(passed=2)
    parallel.stdout.fnmatch_lines(["*::test_slow_and_starts_nothing PASSED*"])


@pytest.mark.process
def test_slow_is_no_leave_to_start_a_process(suite: pytest.Pytester):
    result = suite.runpytest(*ALONE, "-k", "slow_and_starts_a_process")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*cannot sit in the fast tier*subprocess.Popen*true*"])


@pytest.mark.process
def test_the_serial_round_takes_only_serial_tests(suite: pytest.Pytester):
    result = suite.runpytest(*ALONE, "--tier", "serial")
    result.assert_outcomes()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED

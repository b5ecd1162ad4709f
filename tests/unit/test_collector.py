"""The garbage collector's policy around a streaming turn, in a fresh interpreter (the test
process's own collector state, frozen by earlier app tests, would decide the outcome)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import gc, json
    from r1chat import collector

    full_passes = []
    gc.callbacks.append(lambda phase, info: phase == "start" and info["generation"] == 2 and full_passes.append(1))

    def drawn_text():  # what a turn leaves alive: many small containers that outlive young passes
        return [[n] for n in range(200_000)]

    usual = gc.get_threshold()
    before = drawn_text()
    without_a_turn = len(full_passes)
    full_passes.clear()
    collector.turn_started()
    during = drawn_text()
    while_streaming = len(full_passes)
    collector.turn_ended()
    when_it_ends = len(full_passes)
    after = gc.get_threshold()

    # A turn that starts before the last one's end is due: the end leaves it alone.
    full_passes.clear()
    collector.turn_started()
    collector.turn_started()
    collector.turn_ended()
    more = drawn_text()
    while_the_second_streams = len(full_passes)
    collector.turn_ended()
    print(json.dumps({
        "without_a_turn": without_a_turn, "while_streaming": while_streaming, "when_it_ends": when_it_ends,
        "usual": usual, "after": after, "while_the_second_streams": while_the_second_streams,
        "when_both_ended": len(full_passes), "after_both": gc.get_threshold(),
    }))
""")


@pytest.mark.process
def test_no_full_collection_runs_while_a_turn_streams_and_one_runs_when_it_ends():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["without_a_turn"] >= 1  # the same objects outside a turn do set one off
    assert seen["while_streaming"] == 0
    assert seen["when_it_ends"] == 1
    assert seen["after"] == seen["usual"]  # the usual thresholds are back


@pytest.mark.process
def test_the_end_of_a_turn_leaves_a_turn_that_started_meanwhile_alone():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["while_the_second_streams"] == 0
    assert seen["when_both_ended"] == 1
    assert seen["after_both"] == seen["usual"]

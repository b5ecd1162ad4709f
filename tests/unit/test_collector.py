"""The garbage collector's policy around a streaming turn, in a fresh interpreter (the test
process's own collector state, frozen by earlier app tests, would decide the outcome)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from r1chat import collector

SCRIPT = textwrap.dedent("""
    import gc, json, weakref
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
    collector.collect_if_idle()  # once its answer is on screen
    when_it_ends = len(full_passes)
    after = gc.get_threshold()

    # A turn that starts before the last one's end is due: the end leaves it alone.
    full_passes.clear()
    collector.turn_started()
    collector.turn_ended()
    collector.turn_started()
    collector.collect_if_idle()  # the first one's, due while the second streams
    more = drawn_text()
    while_the_second_streams = len(full_passes)
    collector.turn_ended()
    collector.collect_if_idle()
    when_both_ended, after_both = len(full_passes), gc.get_threshold()

    # Each next turn starts before the last one's collection is due (a script sending prompts):
    # what each left as garbage (a cycle, frozen at the next start) is still freed, a few turns on.
    class Node:
        pass

    left = Node()
    left.me = left
    gone = weakref.ref(left)
    del left
    collector.turn_started()  # frozen with everything else
    collector.turn_ended()
    starts = 0
    while gone() is not None and starts < 50:  # and collect_if_idle never finds the app idle
        collector.turn_started()
        collector.turn_ended()
        starts += 1
    print(json.dumps({
        "freed_by_start": starts if gone() is None else None,
        "without_a_turn": without_a_turn, "while_streaming": while_streaming, "when_it_ends": when_it_ends,
        "usual": usual, "after": after, "while_the_second_streams": while_the_second_streams,
        "when_both_ended": when_both_ended, "after_both": after_both,
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


@pytest.mark.process
def test_garbage_is_freed_when_every_prompt_is_sent_before_the_last_collection_was_due():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["freed_by_start"] == collector.OWED_AT_MOST


STREAMING = textwrap.dedent("""
    import gc, json, weakref
    from r1chat import collector

    class Node:
        pass

    def cycle():
        node = Node()
        node.me = node
        for _ in range(3_000):  # and enough more to age it past the young passes
            [[]]
        return weakref.ref(node)

    collector.turn_started()
    left = [cycle() for _ in range(300)]  # what a long turn's frames leave behind
    for _ in range(200_000):
        [[]]
    before_the_pass = sum(ref() is not None for ref in left)
    collector.while_streaming()
    after_the_pass = sum(ref() is not None for ref in left)
    collector.turn_ended()
    print(json.dumps({"before": before_the_pass, "after": after_the_pass, "streaming": collector.streaming()}))
""")


@pytest.mark.process
def test_a_long_turn_frees_the_cycles_its_frames_leave_while_it_streams():
    run = subprocess.run([sys.executable, "-c", STREAMING], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["before"] > 0  # no full pass while it streams: the young passes left some
    assert seen["after"] == 0
    assert seen["streaming"] is False


HOLDING = textwrap.dedent("""
    import gc, json, weakref
    from r1chat import collector

    class Node:
        pass

    def cycle():
        node = Node()
        node.me = node
        return node

    alive = [cycle() for _ in range(300)]  # objects of the app's, in cycles
    older = [weakref.ref(node) for node in alive]
    kept = [[n] for n in range(300_000)]  # and what lives on (the chat screen's objects)
    collector.hold()  # the history screen opens
    frozen = gc.get_freeze_count()
    del alive  # the app lets go of them while the screen is open
    gc.collect(2)  # a full pass while the user types there
    after_a_pass = sum(ref() is not None for ref in older)
    collector.collect_if_idle()  # back on the chat screen
    print(json.dumps({"frozen": frozen, "after_a_pass": after_a_pass,
                      "after_the_collection": sum(ref() is not None for ref in older),
                      "frozen_after": gc.get_freeze_count(), "kept": len(kept)}))
""")


@pytest.mark.process
def test_a_screen_held_leaves_what_existed_to_the_collection_after_it():
    run = subprocess.run([sys.executable, "-c", HOLDING], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["frozen"] > 300_000  # the passes while the screen is open do not walk them
    assert seen["after_a_pass"] == 300  # so their cycles wait...
    assert seen["after_the_collection"] == 0  # ...for the collection once the screen is left
    assert seen["frozen_after"] >= 300_000  # and what lives on is frozen again

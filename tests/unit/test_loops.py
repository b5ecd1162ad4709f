"""The loop guard's detector: loops found as they stream, normal reasoning left alone."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from r1chat.loops import LoopDetector
from tests.servers.generation import pieces

PASSAGE = "Wait, maybe I should check 17 * 3 again. 17 * 3 is 51. So the total is 340 + 51 = 391. "

# A long, varied trace of the kind R1 distills write: it comes back to the same words ("Wait",
# "let me check") and even repeats a sentence now and then, but never a passage in a row.
NORMAL_TRACE = "\n\n".join(
    f"Okay, step {n}: let me compute {n} * 23. {n} * 20 = {n * 20}, and {n} * 3 = {n * 3}, "
    f"so {n} * 23 = {n * 23}. Wait, let me check that. Yes, {n * 20} + {n * 3} = {n * 23}. "
    + ("Hmm, that seems right. " if n % 3 else "Let me double-check. Let me double-check. ")
    for n in range(1, 200)
)


def stream(detector: LoopDetector, text: str) -> list:
    found = [loop for piece in pieces(text) if (loop := detector.feed(piece))]
    if loop := detector.close():
        found.append(loop)
    return found


def test_a_passage_repeated_three_times_in_a_row_is_a_loop_and_each_more_time_is_reported():
    found = stream(LoopDetector(), "Okay, 17 * 23. " + PASSAGE * 5)
    assert [loop.repeats for loop in found] == [3, 4, 5]
    assert found[0].sentences == 3
    assert found[0].passage.startswith("wait, maybe i should check 17 * 3 again.")


def test_twice_is_not_a_loop():
    assert stream(LoopDetector(), PASSAGE * 2 + "So the answer is 391.") == []


def test_long_normal_reasoning_is_not_a_loop():
    detector = LoopDetector()
    assert stream(detector, NORMAL_TRACE) == []
    assert detector.worst is None


def test_a_short_phrase_repeated_is_not_a_loop_but_a_long_one_is():
    assert stream(LoopDetector(), "Hmm. " * 6) == []  # under min_chars
    assert stream(LoopDetector(), "Hmm, let me think about this again more carefully.\n" * 4)


def test_a_loop_ends_when_the_model_moves_on():
    detector = LoopDetector()
    stream(detector, PASSAGE * 4 + "Now something new. And more new thoughts here.")
    assert detector.current is None
    assert detector.worst is not None and detector.worst.repeats == 4


def test_a_loop_after_a_long_trace_is_found_like_at_the_start():
    found = stream(LoopDetector(), NORMAL_TRACE + "\n\n" + PASSAGE * 3)
    assert [loop.repeats for loop in found] == [3]


def test_whitespace_and_case_do_not_hide_a_loop():
    text = "So the sum is 391, I think that is right.\n" + "so the SUM is  391, i think that is right.\n" * 2
    assert stream(LoopDetector(), text)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=80), st.integers(3, 6))
def test_where_the_stream_is_cut_does_not_matter(cuts, repeats):
    text = "Let me start. " + PASSAGE * repeats + "Done thinking now, the answer."
    whole = LoopDetector()
    expected = [loop for loop in [whole.feed(text), whole.close()] if loop]
    assert expected[-1].repeats == repeats
    detector, pos, found = LoopDetector(), 0, []
    sizes = iter(cuts * (len(text) // len(cuts) + 1))
    while pos < len(text):
        size = next(sizes)
        if loop := detector.feed(text[pos : pos + size]):
            found.append(loop)
        pos += size
    if loop := detector.close():
        found.append(loop)
    assert found[-1].repeats == repeats
    assert detector.worst == whole.worst

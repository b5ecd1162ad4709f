"""The one reasoning demux both backends feed: a reasoning field where the server sends one, else
inline think tags, and what the end of the stream says about the trace."""

from __future__ import annotations

import pytest

from r1chat.backends.base import Content, Reasoning, TurnStats
from r1chat.backends.demux import Demux


def run(demux: Demux, chunks, finish_reason: str | None = "stop") -> tuple[list, TurnStats]:
    """Every event of a stream of (reasoning, content) chunks, and the stats it ends with."""
    events = [event for reasoning, content in chunks for event in demux.feed(reasoning, content)]
    events += demux.close()
    stats = TurnStats(finish_reason=finish_reason)
    demux.finish(stats)
    return events, stats


def texts(events) -> tuple[str, str]:
    return ("".join(e.text for e in events if isinstance(e, Reasoning)),
            "".join(e.text for e in events if isinstance(e, Content)))


def test_a_reasoning_field_then_content_is_reasoning_then_the_answer_as_it_came():
    events, stats = run(Demux(True, guessed=True), [("Okay,", None), (" 391.", ""), (None, "It is "), ("", "391.")])
    assert events == [Reasoning("Okay,"), Reasoning(" 391."), Content("It is "), Content("391.")]
    assert not stats.reasoning_truncated and not stats.reasoning_was_answer


def test_after_a_reasoning_field_think_tags_in_the_content_are_quoted_text():
    events, _ = run(Demux(True, guessed=True), [("Hmm.", None), (None, "<think>is a tag</think> in R1's output")])
    assert texts(events) == ("Hmm.", "<think>is a tag</think> in R1's output")


def test_one_chunk_with_both_fields_yields_the_reasoning_first():
    demux = Demux(False, guessed=True)
    assert list(demux.feed("the end of the trace", "The answer")) == [
        Reasoning("the end of the trace"), Content("The answer")]


def test_content_before_any_reasoning_field_is_split_at_its_tags_and_stays_split():
    events, _ = run(Demux(False, guessed=True), [
        (None, "<thi"), (None, "nk>\nplan"), (None, " more</th"), (None, "ink>\n\nAns"),
        # A field arriving once the inline trace was read does not make the rest of the text a trace.
        ("late field", None), (None, "wer <think>quoted</think>"),
    ])
    reasoning, content = texts(events)
    assert reasoning == "plan morelate field"
    assert content == "Answer <think>quoted</think>"


def test_an_opener_less_r1_trace_is_reasoning_up_to_the_closing_tag():
    pieces = [(None, "Okay, 17 * 23"), (None, " = 391.\n</thi"), (None, "nk>\n\nIt is 391.")]
    events, stats = run(Demux(True, guessed=True), pieces)
    assert texts(events) == ("Okay, 17 * 23 = 391.\n", "It is 391.")
    assert not stats.reasoning_truncated and not stats.reasoning_was_answer


def test_without_assuming_a_trace_text_with_no_tags_is_the_answer():
    events, stats = run(Demux(False, guessed=True), [(None, "Just "), (None, "an answer.")])
    assert texts(events) == ("", "Just an answer.")
    assert not stats.reasoning_truncated and not stats.reasoning_was_answer


def test_an_inline_trace_cut_off_by_the_window_is_truncated():
    events, stats = run(Demux(True, guessed=True), [(None, "<think>I keep"), (None, " thinking")], "length")
    assert texts(events) == ("I keep thinking", "")
    assert stats.reasoning_truncated and not stats.reasoning_was_answer


def test_a_reasoning_field_cut_off_before_any_answer_is_truncated():
    _, stats = run(Demux(False, guessed=True), [("I keep", None), (" thinking", None)], "length")
    assert stats.reasoning_truncated


def test_an_answer_cut_off_by_the_window_leaves_the_trace_whole():
    _, stats = run(Demux(False, guessed=True), [("Done thinking.", None), (None, "The answer is")], "length")
    assert not stats.reasoning_truncated


def test_a_guessed_trace_that_never_closed_but_ended_normally_was_the_answer():
    # A server that parses traces itself sends an R1 model's answer-only reply as plain content.
    events, stats = run(Demux(True, guessed=True), [(None, "Hello! "), (None, "How can I help?")], "stop")
    assert texts(events) == ("Hello! How can I help?", "")
    assert stats.reasoning_was_answer and not stats.reasoning_truncated


def test_a_trace_the_user_said_to_assume_stays_a_cut_off_trace():
    _, stats = run(Demux(True, guessed=False), [(None, "Hello! "), (None, "How can I help?")], "stop")
    assert not stats.reasoning_was_answer and stats.reasoning_truncated


def test_a_guessed_trace_with_a_tag_seen_is_not_taken_for_the_answer():
    _, stats = run(Demux(True, guessed=True), [(None, "<think>never closed")], "stop")
    assert not stats.reasoning_was_answer and stats.reasoning_truncated


def test_what_the_splitter_held_back_comes_out_at_close():
    demux = Demux(False, guessed=True)
    assert list(demux.feed(None, "<thi")) == []
    assert list(demux.close()) == [Content("<thi")]


def test_empty_chunks_yield_nothing():
    demux = Demux(True, guessed=True)
    assert list(demux.feed(None, None)) == [] and list(demux.feed("", "")) == []


def test_stats_are_filled_only_after_close():
    demux = Demux(True, guessed=True)
    with pytest.raises(RuntimeError):
        demux.finish(TurnStats())

"""ThinkSplitter: inline <think> tags split into reasoning and content, however the text is chunked."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from r1chat.reasoning import Delta, ThinkSplitter


def split(chunks: Iterable[str], *, assume_thinking: bool = False) -> tuple[str, str, ThinkSplitter]:
    """Feed ``chunks`` and close; return (reasoning, content, splitter)."""
    splitter = ThinkSplitter(assume_thinking=assume_thinking)
    deltas: list[Delta] = []
    for chunk in chunks:
        deltas.extend(splitter.feed(chunk))
    deltas.extend(splitter.close())
    reasoning = "".join(d.text for d in deltas if d.kind == "reasoning")
    content = "".join(d.text for d in deltas if d.kind == "content")
    return reasoning, content, splitter


def R(text: str) -> Delta:
    return Delta("reasoning", text)


def C(text: str) -> Delta:
    return Delta("content", text)


R1_ANSWER = "<think>\nOkay, the user asks for 17*23.\n</think>\n\nThe answer is 391."


# --- tags split across chunks ----------------------------------------------------------------


def test_whole_trace_and_answer_in_one_chunk():
    reasoning, content, splitter = split([R1_ANSWER])
    assert reasoning == "Okay, the user asks for 17*23.\n"
    assert content == "The answer is 391."
    assert splitter.saw_tags and not splitter.truncated and not splitter.in_reasoning


def test_ollama_old_behaviour_stream_is_split():
    # The chunks of the "old behaviour" stream in protocols.md A.1.
    chunks = ["<think>", "\n", "Okay, the user", "</think>", "\n\n", "The answer is 391.", ""]
    reasoning, content, splitter = split(chunks)
    assert (reasoning, content) == ("Okay, the user", "The answer is 391.")
    assert not splitter.truncated


def test_opening_tag_split_across_chunks():
    splitter = ThinkSplitter()
    assert splitter.feed("<th") == []
    assert splitter.feed("ink>Hmm") == [R("Hmm")]
    assert splitter.saw_tags and splitter.in_reasoning


def test_closing_tag_split_across_chunks():
    splitter = ThinkSplitter()
    assert splitter.feed("<think>Hmm</thi") == [R("Hmm")]
    assert splitter.feed("nk>Yes") == [C("Yes")]
    assert not splitter.in_reasoning


@pytest.mark.parametrize("assume_thinking", [False, True])
def test_tags_split_one_character_per_chunk(assume_thinking):
    reasoning, content, _ = split(list(R1_ANSWER), assume_thinking=assume_thinking)
    assert (reasoning, content) == ("Okay, the user asks for 17*23.\n", "The answer is 391.")


@pytest.mark.parametrize("cut", range(len(R1_ANSWER) + 1))
def test_tags_split_at_every_position(cut):
    assert split([R1_ANSWER[:cut], R1_ANSWER[cut:]])[:2] == split([R1_ANSWER])[:2]


# --- holding back as little as possible --------------------------------------------------------


def test_reasoning_streams_without_waiting_for_the_closing_tag():
    splitter = ThinkSplitter()
    assert splitter.feed("<think>Okay, so") == [R("Okay, so")]
    assert splitter.feed(" the user") == [R(" the user")]


def test_possible_opening_tag_is_held_until_the_next_chunk_decides():
    splitter = ThinkSplitter()
    assert splitter.feed("<thi") == []
    assert splitter.feed("s is not a tag") == [C("<this is not a tag")]


def test_possible_closing_tag_is_held_but_text_before_it_is_not():
    splitter = ThinkSplitter()
    assert splitter.feed("<think>a < b and c </") == [R("a < b and c ")]
    assert splitter.feed("div>") == [R("</div>")]


def test_a_lone_angle_bracket_in_the_trace_is_held_only_at_the_end():
    splitter = ThinkSplitter()
    assert splitter.feed("<think>x <") == [R("x ")]
    assert splitter.feed("y") == [R("<y")]


def test_answer_text_is_never_held_back():
    splitter = ThinkSplitter()
    splitter.feed("<think>t</think>")
    assert splitter.feed("Use <thi") == [C("Use <thi")]
    assert splitter.feed("</") == [C("</")]


# --- whitespace -------------------------------------------------------------------------------


def test_leading_whitespace_before_the_opening_tag_is_dropped():
    reasoning, content, _ = split(["\n \n", "  <think>", "Hmm</think>Hi"])
    assert (reasoning, content) == ("Hmm", "Hi")


def test_leading_whitespace_alone_is_held_not_emitted():
    splitter = ThinkSplitter()
    assert splitter.feed("\n\n") == []
    assert splitter.feed("<think>Hmm") == [R("Hmm")]


def test_empty_trace_gives_no_reasoning_and_the_answer():
    reasoning, content, splitter = split(["<think>\n\n</think>\n\nHello!"])
    assert (reasoning, content) == ("", "Hello!")
    assert splitter.saw_tags and not splitter.truncated


def test_empty_trace_emits_no_empty_deltas():
    splitter = ThinkSplitter()
    assert splitter.feed("<think>") == []
    assert splitter.feed("\n\n") == []
    assert splitter.feed("</think>") == []
    assert splitter.feed("\n\n") == []
    assert splitter.feed("Hello!") == [C("Hello!")]
    assert splitter.close() == []


def test_whitespace_after_the_closing_tag_is_stripped_from_the_answer():
    assert split(["<think>t</think>", "\n", "\n", " \tAnswer\n\n  more"])[1] == "Answer\n\n  more"


def test_whitespace_at_the_start_of_the_trace_is_stripped():
    splitter = ThinkSplitter()
    assert splitter.feed("<think>\n") == []
    assert splitter.feed("  \n") == []
    assert splitter.feed("Okay") == [R("Okay")]


def test_trailing_whitespace_of_the_trace_is_kept():
    assert split(["<think>\nOkay.\n\n</think>\n\nHi"])[:2] == ("Okay.\n\n", "Hi")


def test_text_without_a_trace_keeps_its_leading_whitespace():
    assert split(["\n\nHello"])[:2] == ("", "\n\nHello")


def test_whitespace_only_text_is_content_without_assume_thinking():
    assert split([" \n", " "])[:2] == ("", " \n ")


# --- assume_thinking ----------------------------------------------------------------------------


def test_assume_thinking_treats_text_before_the_closing_tag_as_reasoning():
    reasoning, content, splitter = split(
        ["Okay, the user", " wants 17*23.", "\n</think>\n\n", "391"], assume_thinking=True
    )
    assert (reasoning, content) == ("Okay, the user wants 17*23.\n", "391")
    assert splitter.saw_tags and not splitter.truncated


def test_assume_thinking_is_in_reasoning_before_any_text():
    splitter = ThinkSplitter(assume_thinking=True)
    assert splitter.in_reasoning and not splitter.saw_tags
    assert splitter.feed("Hmm") == [R("Hmm")]


def test_assume_thinking_consumes_an_opening_tag_if_present():
    reasoning, content, _ = split(["\n<th", "ink>\nHmm</think>Hi"], assume_thinking=True)
    assert (reasoning, content) == ("Hmm", "Hi")


def test_assume_thinking_strips_whitespace_at_the_start_of_the_trace():
    assert split(["\n\n", "Hmm</think>Hi"], assume_thinking=True)[:2] == ("Hmm", "Hi")


def test_assume_thinking_with_an_immediate_closing_tag_gives_no_reasoning():
    splitter = ThinkSplitter(assume_thinking=True)
    assert splitter.feed("<") == []
    assert splitter.feed("/think>\n\nHi") == [C("Hi")]


def test_assume_thinking_without_any_tag_is_all_truncated_reasoning():
    reasoning, content, splitter = split(["Okay, so", " the user"], assume_thinking=True)
    assert (reasoning, content) == ("Okay, so the user", "")
    assert splitter.truncated


def test_assume_thinking_with_no_text_is_not_truncated():
    for chunks in ([], [""], ["\n\n"]):
        reasoning, content, splitter = split(chunks, assume_thinking=True)
        assert (reasoning, content, splitter.truncated) == ("", "", False)


def test_without_assume_thinking_text_not_starting_with_the_tag_is_content():
    text = "Sure. Models write <think>...</think> around their reasoning."
    reasoning, content, splitter = split([text])
    assert (reasoning, content) == ("", text)
    assert not splitter.saw_tags and not splitter.truncated


def test_without_assume_thinking_a_lone_closing_tag_is_content():
    assert split(["Hmm</think>Hi"])[:2] == ("", "Hmm</think>Hi")


# --- unclosed trace -----------------------------------------------------------------------------


def test_unclosed_trace_is_kept_as_truncated_reasoning():
    splitter = ThinkSplitter()
    assert splitter.feed("<think>\nOkay, the user") == [R("Okay, the user")]
    assert splitter.feed(" wants </thi") == [R(" wants ")]
    assert splitter.close() == [R("</thi")]
    assert splitter.truncated and splitter.in_reasoning


def test_opening_tag_alone_is_a_truncated_empty_trace():
    reasoning, content, splitter = split(["<think>\n"])
    assert (reasoning, content) == ("", "")
    assert splitter.truncated


def test_closed_trace_is_not_truncated():
    assert not split(["<think>a</think>"])[2].truncated


# --- literal and near-miss tags --------------------------------------------------------------


def test_literal_tags_in_the_answer_stay_content():
    answer = "Wrap it in <think> and </think>, like <think>this</think>."
    reasoning, content, _ = split(["<think>t</think>\n\n", answer])
    assert (reasoning, content) == ("t", answer)


def test_literal_opening_tag_inside_the_trace_stays_reasoning():
    assert split(["<think>I saw <think> in the prompt</think>ok"])[:2] == (
        "I saw <think> in the prompt",
        "ok",
    )


@pytest.mark.parametrize("near_miss", ["<thin>", "<thinking>", "< think>", "<THINK>", "<think >"])
def test_near_miss_opening_tag_is_content(near_miss):
    text = near_miss + "x</think>y"
    assert split([text])[:2] == ("", text)
    assert split(list(text))[:2] == ("", text)


@pytest.mark.parametrize("near_miss", ["<thin>", "<thinking>", "< think>", "</thinkx", "</ think>", "</think"])
def test_near_miss_closing_tag_inside_the_trace_is_reasoning(near_miss):
    reasoning, content, splitter = split(list("<think>a" + near_miss + "b"))
    assert (reasoning, content) == ("a" + near_miss + "b", "")
    assert splitter.truncated


def test_partial_opening_tag_at_the_end_is_flushed_as_content():
    splitter = ThinkSplitter()
    assert splitter.feed("  <thi") == []
    assert splitter.close() == [C("  <thi")]


def test_partial_opening_tag_at_the_end_is_flushed_as_reasoning_when_assumed():
    splitter = ThinkSplitter(assume_thinking=True)
    assert splitter.feed("<thi") == []
    assert splitter.close() == [R("<thi")]
    assert splitter.truncated


def test_partial_closing_tag_at_the_end_is_flushed_as_reasoning():
    splitter = ThinkSplitter()
    assert splitter.feed("<think>so</think") == [R("so")]
    assert splitter.close() == [R("</think")]


# --- text, lifecycle, delta shape ---------------------------------------------------------------


def test_non_ascii_text_passes_through_unchanged():
    trace = "用户问：17×23？🤔 e\u0301 ok"
    answer = "答案是 391 👍🏽 — cafe\u0301"
    text = f"<think>{trace}</think>{answer}"
    assert split([text])[:2] == (trace, answer)
    assert split(list(text))[:2] == (trace, answer)


def test_close_flushes_held_text():
    splitter = ThinkSplitter()
    assert splitter.feed("<think>x</thin") == [R("x")]
    assert splitter.close() == [R("</thin")]


def test_close_twice_returns_nothing_more():
    splitter = ThinkSplitter()
    splitter.feed("<thi")
    assert splitter.close() == [C("<thi")]
    assert splitter.close() == []


def test_feeding_after_close_raises():
    splitter = ThinkSplitter()
    splitter.close()
    with pytest.raises(ValueError):
        splitter.feed("more")


def test_empty_strings_are_fine():
    splitter = ThinkSplitter()
    assert splitter.feed("") == []
    assert splitter.feed("<think>") == []
    assert splitter.feed("") == []
    assert splitter.feed("a") == [R("a")]
    assert splitter.feed("") == []
    assert splitter.close() == []


def test_same_kind_deltas_from_one_call_are_merged():
    splitter = ThinkSplitter(assume_thinking=True)
    assert splitter.feed("<") == []
    # The held "<" turns out to be reasoning text and is emitted with what follows, as one delta.
    assert splitter.feed("b> a</think>\n\nc") == [R("<b> a"), C("c")]


def test_one_chunk_with_trace_and_answer_gives_reasoning_then_content():
    assert ThinkSplitter().feed("<think>a</think>b") == [R("a"), C("b")]


# --- properties ---------------------------------------------------------------------------------

PIECES = st.sampled_from(
    [
        " ", "\n", "\n\n", "\t", "\u3000",
        "<think>", "</think>",
        "<", "</", "<t", "<thi", "</thi", "<think", "</think",
        "<thin>", "<thinking>", "< think>", "</thinkx", "</ think>", "<THINK>", ">",
        "Okay", "the user", "391", "a<b", "x</y",
        "用户", "答案", "🤔", "👍🏽", "e\u0301",
    ]
)

WORDS = st.sampled_from(
    [" ", "\n", "\n\n", "Okay", "so", "a<b", "<", "</", "</thi", "</think", "<thinking>",
     "</thinkx", "<thi", "用户", "🤔", "e\u0301", ">", "<think"]
)


@st.composite
def chunked(draw, pieces=PIECES):
    """A document built from pieces, and the same document cut at points hypothesis chooses."""
    text = "".join(draw(st.lists(pieces, max_size=24)))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=len(text) + 1)))
    bounds = [0, *cuts, len(text)]
    return text, [text[a:b] for a, b in pairwise(bounds)]


def tagless(words=WORDS) -> st.SearchStrategy[str]:
    # A piece can complete a tag begun by the one before it ("<thi" + "nk>" is not in the list,
    # but "</think" + ">" is), so filter on the joined text.
    return st.lists(words, max_size=12).map("".join).filter(
        lambda s: "<think>" not in s and "</think>" not in s
    )


def kinds_in_order(chunks: list[str], assume_thinking: bool) -> list[str]:
    splitter = ThinkSplitter(assume_thinking=assume_thinking)
    kinds = []
    for chunk in chunks:
        for delta in splitter.feed(chunk):
            assert delta.text, "an empty delta was returned"
            kinds.append(delta.kind)
    kinds.extend(d.kind for d in splitter.close())
    return kinds


@settings(max_examples=400, deadline=None)
@given(doc=chunked(), assume_thinking=st.booleans())
def test_any_chunking_gives_the_same_result_as_one_feed(doc, assume_thinking):
    text, chunks = doc
    reasoning, content, splitter = split(chunks, assume_thinking=assume_thinking)
    whole_reasoning, whole_content, whole = split([text], assume_thinking=assume_thinking)
    assert (reasoning, content) == (whole_reasoning, whole_content)
    assert splitter.truncated == whole.truncated
    assert splitter.saw_tags == whole.saw_tags


@settings(max_examples=200, deadline=None)
@given(doc=chunked(), assume_thinking=st.booleans())
def test_deltas_are_never_empty_and_reasoning_never_follows_content(doc, assume_thinking):
    _, chunks = doc
    kinds = kinds_in_order(chunks, assume_thinking)
    if "content" in kinds:
        assert "reasoning" not in kinds[kinds.index("content"):]


@settings(max_examples=200, deadline=None)
@given(doc=chunked(), assume_thinking=st.booleans())
def test_one_call_never_returns_two_adjacent_deltas_of_one_kind(doc, assume_thinking):
    _, chunks = doc
    splitter = ThinkSplitter(assume_thinking=assume_thinking)
    for deltas in [*(splitter.feed(c) for c in chunks), splitter.close()]:
        assert all(a.kind != b.kind for a, b in pairwise(deltas))


@settings(max_examples=300, deadline=None)
@given(lead=st.sampled_from(["", "\n", "  \n"]), trace=tagless(), answer=tagless(),
       assume_thinking=st.booleans(), data=st.data())
def test_trace_and_answer_come_out_exactly(lead, trace, answer, assume_thinking, data):
    text = f"{lead}<think>{trace}</think>{answer}"
    cuts = sorted(data.draw(st.sets(st.integers(0, len(text)))))
    bounds = [0, *cuts, len(text)]
    chunks = [text[a:b] for a, b in pairwise(bounds)]
    reasoning, content, splitter = split(chunks, assume_thinking=assume_thinking)
    assert reasoning == trace.lstrip()
    assert content == answer.lstrip()
    assert splitter.saw_tags and not splitter.truncated


@settings(max_examples=300, deadline=None)
@given(trace=tagless(), answer=tagless(), data=st.data())
def test_trace_without_opening_tag_comes_out_exactly_when_assumed(trace, answer, data):
    text = f"{trace}</think>{answer}"
    cuts = sorted(data.draw(st.sets(st.integers(0, len(text)))))
    bounds = [0, *cuts, len(text)]
    chunks = [text[a:b] for a, b in pairwise(bounds)]
    reasoning, content, splitter = split(chunks, assume_thinking=True)
    assert reasoning == trace.lstrip()
    assert content == answer.lstrip()
    assert not splitter.truncated


@settings(max_examples=200, deadline=None)
@given(doc=chunked())
def test_text_not_opening_with_a_trace_is_content_unchanged(doc):
    text, chunks = doc
    if text.lstrip().startswith("<think>"):
        return
    assert split(chunks)[:2] == ("", text)


@settings(max_examples=200, deadline=None)
@given(trace=tagless(), answer=tagless())
def test_literal_tags_after_the_trace_are_kept_in_the_answer(trace, answer):
    quoted = f"{answer}<think>{trace}</think>{answer}"
    reasoning, content, _ = split(list(f"<think>{trace}</think>{quoted}"))
    assert (reasoning, content) == (trace.lstrip(), quoted.lstrip())

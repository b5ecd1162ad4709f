import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from r1chat.sanitize import ControlFilter, pasted_text, strip_controls, to_json

NASTY = "safe\x1b]52;c;SGVsbG8=\x07 text \x1b[31mred\x1b[0m\x1b]0;title\x1b\\\r\x08\x9b2Jend\tok\n"


def test_escape_sequences_and_control_characters_are_removed_but_newlines_and_tabs_kept():
    assert strip_controls(NASTY) == "safe text redend\tok\n"


def test_plain_text_passes_unchanged_including_non_ascii():
    text = "Résumé: 17×23 = 391 ✓ 中文 [bold]not markup[/]"
    assert strip_controls(text) is text


@given(st.lists(st.integers(min_value=1, max_value=len(NASTY) - 1), unique=True).map(sorted))
def test_a_stream_cut_anywhere_filters_like_the_whole_text(cuts):
    pieces = [NASTY[a:b] for a, b in zip([0, *cuts], [*cuts, len(NASTY)], strict=True)]
    stream = ControlFilter()
    assert "".join(stream.feed(p) for p in pieces) + stream.flush() == strip_controls(NASTY)


def test_an_unfinished_sequence_at_the_end_is_dropped():
    stream = ControlFilter()
    assert stream.feed("text\x1b[3") == "text"
    assert stream.flush() == ""


def test_bidi_overrides_and_isolates_are_removed_so_text_reads_in_its_stored_order():
    text = "access = \u202e\u2066// admin only\u2069\u2066 user\u202c ok \u200f"
    assert strip_controls(text) == "access = // admin only user ok \u200f"
    assert ControlFilter().feed(text) == strip_controls(text)


def test_osc_8_hyperlinks_keep_their_text_and_lose_the_link():
    text = "see \x1b]8;;https://evil.example/\x1b\\the docs\x1b]8;;\x1b\\ and \x1b]8;id=1;file:///etc/passwd\x07this\x1b]8;;\x07."
    assert strip_controls(text) == "see the docs and this."
    filtered = ControlFilter()
    assert "".join(filtered.feed(text[i:i + 3]) for i in range(0, len(text), 3)) == "see the docs and this."


def test_8_bit_string_sequences_go_whole_but_a_lone_c1_character_eats_nothing():
    assert strip_controls("a\x9d8;;https://evil.example/\x9clink\x9d8;;\x9c b") == "alink b"
    # UTF-8 read as Latin-1 ("”" is E2 80 9D): the text after the stray \x9d stays.
    assert strip_controls("say \xe2\x80\x9dhi and more") == "say \xe2hi and more"


@pytest.mark.hostile(6, "core")
def test_json_escapes_c1_and_bidi_controls_and_keeps_the_text_whole():
    value = {"text": "a\x1b[2J\x9b2J\u202eb\x7f"}
    written = to_json(value)
    assert written == '{"text": "a\\u001b[2J\\u009b2J\\u202eb\\u007f"}'
    assert json.loads(written) == value


@pytest.mark.hostile(7, "core")
def test_a_paste_has_newlines_for_line_endings_and_no_controls():
    assert pasted_text("a\r\nb\rc\nd\x07e\x1b[31mf\x1b]0;t\x07\tg\x00") == "a\nb\nc\ndef\tg"

"""The bracketed-paste filter for the terminal's input: keys pass, a paste passes as text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from r1chat.ui.paste import END, START, PasteFilter

KEYS = "ab\x1b[A\x07"  # typed keys: letters, an arrow, Ctrl+G
PASTE = "one\x1b]0;title\x07 two\x07\r\nthree\x1b[31m red\x1b[0m\x1b"


@pytest.mark.hostile(7, "tui")
def test_keys_pass_untouched_and_a_paste_passes_as_plain_text():
    assert PasteFilter().feed(KEYS + START + PASTE + END + KEYS) == KEYS + START + "one two\nthree red" + END + KEYS


@pytest.mark.hostile(7, "tui")
@given(st.lists(st.integers(min_value=1, max_value=len(KEYS + START + PASTE + END + KEYS) - 1), unique=True).map(sorted))
def test_chunks_cut_anywhere_give_the_same_input(cuts):
    whole = KEYS + START + PASTE + END + KEYS
    pieces = [whole[a:b] for a, b in zip([0, *cuts], [*cuts, len(whole)], strict=True)]
    paste_filter = PasteFilter()
    assert "".join(paste_filter.feed(piece) for piece in pieces) == PasteFilter().feed(whole)


def test_a_lone_escape_key_is_not_held_back():
    # Esc alone could begin a paste's start marker, but the parser needs it to tell the Escape key.
    assert PasteFilter().feed("\x1b") == "\x1b"

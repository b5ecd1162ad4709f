"""Text fitted to terminal cells, for list columns: wide characters count twice."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from rich.cells import cell_len

from r1chat.ui.cells import clip, column

TEXT = st.text(st.sampled_from("ab 日本語😀é\u0301"), max_size=30)


@given(TEXT, st.integers(1, 20))
@example("日本語のタイトル", 6)
@example("hello world", 7)
def test_a_column_is_exactly_its_width_and_clipped_text_ends_in_an_ellipsis(text, width):
    fitted = column(text, width)
    assert cell_len(fitted) == width
    if cell_len(text) <= width:
        assert clip(text, width) == text and fitted.rstrip(" ") == text.rstrip(" ")
    else:
        assert clip(text, width).endswith("…") and cell_len(clip(text, width)) <= width
        assert text.startswith(clip(text, width)[:-1])


def test_a_wide_character_at_the_edge_goes_whole():
    assert clip("日本語のタイトル", 6) == "日本…"
    assert column("日本語のタイトル", 6) == "日本… "
    assert clip("hello world", 7) == "hello…"

"""Text fitted to a number of terminal cells: wide characters (CJK, most emoji) take two."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size

ELLIPSIS = "…"


def clip(text: str, width: int) -> str:
    """``text`` if it fits in ``width`` cells, else cut to fit with an ellipsis at the end.

    A wide character that would straddle the edge goes whole, so the result may be a cell short.
    """
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1).rstrip(" ") + ELLIPSIS if width > 0 else ""


def column(text: str, width: int) -> str:
    """``text`` clipped, then padded with spaces to exactly ``width`` cells, so columns line up."""
    return set_cell_size(clip(text, width), width)

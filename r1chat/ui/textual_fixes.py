"""Work-arounds for Textual faults that r1chat's long sessions run into (Textual is pinned to 8.2.x).

``StylesCache.get_inner_outer`` is an instance method under ``functools.lru_cache(1024)``: the
cache's keys hold the widget's whole ``StylesCache``, with every line it has drawn. A widget that
is removed stays in memory through it until 1,024 newer keys push it out. r1chat removes messages
all the time (a long session keeps about 40 mounted), so a 300-turn session kept the drawn lines
of about a thousand removed widgets: 100 kB more memory per turn, and every full collection of
the garbage walking over them. The two styles depend on the two colours only: cache on those.
"""

from __future__ import annotations

from functools import lru_cache

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.style import Style


@lru_cache(1024)
def _inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    return Style(background=base_background + background), Style(background=base_background)


def _get_inner_outer(self: StylesCache, base_background: Color, background: Color) -> tuple[Style, Style]:
    return _inner_outer(base_background, background)


def apply() -> None:
    """Replace the method where it is still the per-instance cache (a fixed Textual keeps its own)."""
    current = StylesCache.__dict__.get("get_inner_outer")
    if current is not None and hasattr(current, "cache_info"):
        current.cache_clear()
        StylesCache.get_inner_outer = _get_inner_outer  # type: ignore[method-assign, assignment]

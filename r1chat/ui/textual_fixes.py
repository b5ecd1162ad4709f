"""Work-arounds for Textual faults that r1chat runs into (Textual is pinned to 8.2.x).

``StylesCache.get_inner_outer`` is an instance method under ``functools.lru_cache(1024)``: the
cache's keys hold the widget's whole ``StylesCache``, with every line it has drawn. A widget that
is removed stays in memory through it until 1,024 newer keys push it out. r1chat removes messages
all the time (a long session keeps about 40 mounted), so a 300-turn session kept the drawn lines
of about a thousand removed widgets: 100 kB more memory per turn, and every full collection of
the garbage walking over them. The two styles depend on the two colours only: cache on those.

``Timer._run``, for a timer that skips the ticks it missed (every screen's update timer, 60 a
second), skipped one too many: after a tick that took longer than the interval it waited for the
third tick after the late one's start, not the next. A frame that took 20 ms while an answer
streamed put the next frame 50 ms after it, not 33: the screen drew 20 frames a second, and a
key typed meanwhile waited up to 50 ms to show. Here the timer ticks at the first of its times
still to come.

``Widget.refresh(layout=True)`` counts a change of layout (``_layout_updates``, the key a
widget's size is cached on) only when none is pending. A layout pass can run meanwhile (for a
sibling that asked first) and measure the widget as it was; when the widget then changes again
before its own request is passed on, the count stays and the pass it asked for reads the size
cached before: on a busy machine a finished answer showed 3 of its 5 lines until the next resize.
Here every request counts.
"""

from __future__ import annotations

from asyncio import Event
from functools import lru_cache
from typing import cast

from textual import _time
from textual._styles_cache import StylesCache
from textual.color import Color
from textual.geometry import Region
from textual.style import Style
from textual.timer import EventTargetGone, Timer
from textual.widget import Widget


@lru_cache(1024)
def _inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    return Style(background=base_background + background), Style(background=base_background)


def _get_inner_outer(self: StylesCache, base_background: Color, background: Color) -> tuple[Style, Style]:
    return _inner_outer(base_background, background)


async def _run(self: Timer) -> None:
    """Textual's timer loop, ticking at start + n * interval; a late tick skips only the times
    already gone."""
    active = cast(Event, self._active)  # Textual's own cached_property reads as no type at all
    await active.wait()
    start = _time.get_time()
    count = 0
    while self._repeat is None or count <= self._repeat:
        due = start + (count + 1) * self._interval
        now = _time.get_time()
        if self._skip and due < now:
            count = int((now - start) / self._interval)  # the next time due is the first to come
            continue
        await _time.sleep(max(0.0, due - now))
        count += 1
        await active.wait()
        if self._reset:
            start, count, self._reset = _time.get_time(), 0, False
            continue
        try:
            await self._tick(next_timer=due, count=count)
        except EventTargetGone:
            break


_textual_refresh = Widget.refresh


def _refresh(
    self: Widget, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
) -> Widget:
    if layout and self._layout_required:  # Textual's own refresh counts only the first
        self._layout_updates += 1
    return _textual_refresh(self, *regions, repaint=repaint, layout=layout, recompose=recompose)


def apply() -> None:
    """Replace the method where it is still the per-instance cache (a fixed Textual keeps its own),
    Textual's timer loop and its refresh (once)."""
    current = StylesCache.__dict__.get("get_inner_outer")
    if current is not None and hasattr(current, "cache_info"):
        current.cache_clear()
        StylesCache.get_inner_outer = _get_inner_outer  # type: ignore[method-assign, assignment]
    if Timer._run.__module__ == "textual.timer":
        Timer._run = _run  # type: ignore[method-assign]
    if Widget.refresh is _textual_refresh:
        Widget.refresh = _refresh  # type: ignore[method-assign, assignment]

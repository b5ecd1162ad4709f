"""One layout pass per change for the widgets a streaming answer grows, and no lines drawn again
for the containers it grows."""

from __future__ import annotations

from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.widgets import Static


class OnePass:
    """Mixin: a change of this widget's size costs one layout pass, not two.

    Textual keeps a widget's scrollable size in a reactive that asks for layout, and sets it in
    the very pass that resized the widget, so every pass that changes a widget's size is
    followed by a second full pass that finds nothing to move: the first one already placed
    everything at that size (and, for the conversation, which scrolls, updated its scrollbar
    and kept it at the bottom). The second pass only cost: a full reflow and repaint of the
    screen each time a streaming answer grew. Here the reactive only repaints.
    """

    virtual_size = Reactive(Size(0, 0))


class Holder(OnePass):
    """Mixin for a container that draws nothing of its own but its background and edges: when
    only its height changes, the lines it drew stay (all but the bottom edge's).

    Textual draws a widget's every line again when its size changes. A streaming answer sits in
    five such containers (the conversation, the message, its steps, the trace, the text), each
    a screen high, so each time the text grew a line and scrolled the conversation, those five
    drew 170 lines of background anew: most of a 25 to 45 ms frame, and a key typed meanwhile
    waited for it. A change of width, of style (a theme, a class) or of anything else still
    draws them all again; a change of the scrollable size (which no line of a background
    depends on) draws one.
    """

    virtual_size = Reactive(Size(0, 0), repaint=False)

    def watch_virtual_size(self) -> None:
        # What the repaint did, but draw every line again: a refresh of one line still clears
        # what Textual caches of the widget's dimensions (without it, 3 runs in 8 of a test that
        # clicks a streaming trace's title missed it).
        self.refresh(Region(0, 0, self.size.width, 1))  # type: ignore[attr-defined]

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        old = self._size  # type: ignore[attr-defined]
        if old.width != size.width or not old.height or old.height == size.height:
            return super()._size_updated(size, virtual_size, container_size, layout)  # type: ignore[misc]
        cache = self._styles_cache  # type: ignore[attr-defined]
        drawn = dict(cache._cache)
        resized = super()._size_updated(size, virtual_size, container_size, layout)  # type: ignore[misc]
        # Lines above the bottom edge (padding and border) are the same at any height. Only a
        # screenful of them above it is kept: a text that grows is seen at its end, and every line
        # of a 100,000-token trace kept in each of its four containers took 100 MB.
        same = min(old.height, size.height) - self.styles.gutter.bottom  # type: ignore[attr-defined]
        kept = range(max(0, same - self.app.size.height), same)  # type: ignore[attr-defined]
        cache._cache.update((y, strip) for y, strip in drawn.items() if y in kept)
        cache._dirty_lines.difference_update(kept)
        return resized


class Block(OnePass, Static):
    """A drawn stretch of text in a message: a prompt's, an answer's, a trace's or a footnote."""

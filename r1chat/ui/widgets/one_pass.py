"""One layout pass per change for the widgets a streaming answer grows."""

from __future__ import annotations

from textual.geometry import Size
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


class Block(OnePass, Static):
    """A drawn stretch of text in a message: a prompt's, an answer's, a trace's or a footnote."""

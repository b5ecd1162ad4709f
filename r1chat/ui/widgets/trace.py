"""The reasoning trace: a live, timed title over a collapsible body."""

from __future__ import annotations

import time

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive

from r1chat.sanitize import ControlFilter
from r1chat.ui.widgets.markdown import Lines, LiveText, rendered
from r1chat.ui.widgets.one_pass import Block, Holder

# What the live title's seconds are counted on; snapshot tests replace it to freeze them.
clock = time.monotonic


def trace_title(*, live: bool, seconds: float | None, tokens: int, cut_off: bool = False, collapsed: bool) -> Content:
    arrow = "▶" if collapsed else "▼"
    if live:
        words = f"Thinking… {seconds or 0:.1f}s"
    elif seconds is not None:
        words = f"Thought for {seconds:.1f}s"
    else:
        words = "Thoughts"
    if tokens:
        words += f" · {tokens} tokens"
    if cut_off:
        words += " (cut off)"
    return Content.assemble((arrow + " ", "bold"), words)


class FoldTitle(Block, can_focus=True):
    """A title line that folds what is under it: focusable, and Enter (or a click) says it was
    pressed; its owner folds or unfolds. A trace's title, a tool call's line."""

    class Pressed(Message):
        pass

    def action_fold(self) -> None:
        self.post_message(self.Pressed())

    def on_click(self) -> None:
        self.post_message(self.Pressed())


class TraceTitle(FoldTitle):
    BINDINGS = [Binding("enter,space", "fold", "Fold trace", id="trace.toggle")]


class Trace(Holder, Vertical):
    """A trace, streaming or finished. ``collapsed`` folds the body away (display: none)."""

    collapsed: reactive[bool] = reactive(False, init=False)

    class Toggled(Message):
        def __init__(self, trace: Trace) -> None:
            super().__init__()
            self.trace = trace

    def __init__(
        self,
        text: str = "",
        *,
        live: bool = False,
        collapsed: bool = False,
        seconds: float | None = None,
        tokens: int = 0,
        cut_off: bool = False,
    ) -> None:
        super().__init__(classes="-collapsed" if collapsed else "")
        self.set_reactive(Trace.collapsed, collapsed)
        self.live = live
        self._text = [text]  # pieces, joined when read: += on a 400 kB trace copied it per token
        self.seconds = seconds
        self.tokens = tokens
        self.cut_off = cut_off
        # Set once the reader folds or unfolds it: the collapse policy leaves it alone after that.
        self.touched_by_user = False
        self._started = clock()
        self._filter = ControlFilter()
        self._body: LiveText | None = None
        self._drawn = True  # a finished trace's text is in its body

    @property
    def text(self) -> str:
        """The trace so far, control sequences removed."""
        if len(self._text) > 1:
            self._text[:] = ["".join(self._text)]
        return self._text[0]

    def compose(self) -> ComposeResult:
        yield TraceTitle(self._title(), classes="trace-title")
        if self.live:
            # The clock ticks with the text's frames: one screen update for both.
            yield LiveText(self.text, classes="trace-body", on_frame=self._tick)
        else:
            # A folded trace is drawn when first unfolded: a long conversation opens with tens
            # of long traces that nobody may unfold (their Markdown took half the opening time).
            yield Lines(None if self.collapsed else rendered(self.text), classes="trace-body")
            self._drawn = not self.collapsed

    def _title(self) -> Content:
        seconds = clock() - self._started if self.live else self.seconds
        return trace_title(
            live=self.live, seconds=seconds, tokens=self.tokens, cut_off=self.cut_off, collapsed=self.collapsed
        )

    def refresh_title(self) -> None:
        # One line whatever it says: no layout pass (the live clock ticks with every frame).
        # A frame of the body can still come while the trace is taken down (quitting mid-answer
        # removes the title first); it has no title left to tick.
        for title in self.query_children(TraceTitle):
            title.update(self._title(), layout=False)

    def _tick(self) -> None:
        if self.live:
            self.refresh_title()

    def watch_collapsed(self, collapsed: bool) -> None:
        if not collapsed and not self._drawn and self.is_mounted:
            self._drawn = True
            self.query_one(".trace-body", Lines).show_later(rendered(self.text))
        self.set_class(collapsed, "-collapsed")
        self.refresh_title()

    @on(TraceTitle.Pressed)
    def _pressed(self, event: TraceTitle.Pressed) -> None:
        event.stop()
        self.touched_by_user = True
        self.collapsed = not self.collapsed
        self.post_message(self.Toggled(self))

    # --- streaming ---------------------------------------------------------------------------

    async def append(self, text: str) -> None:
        self.tokens += 1
        clean = self._filter.feed(text)
        if not clean:
            return
        self._text.append(clean)
        if self._body is None:  # found once: a query per token cost a tenth of a fast stream
            self._body = self.query_one(".trace-body", LiveText)
        self._body.write(clean)

    async def settle(self, seconds: float | None, *, tokens: int | None = None, cut_off: bool = False) -> None:
        """The trace is over (the answer began, or the turn ended): stop the clock, keep the text."""
        body = self.query_one(".trace-body")
        if self.live and isinstance(body, LiveText):
            await body.finish()
        self.live = False
        self.seconds = seconds
        self.tokens = tokens or self.tokens
        self.cut_off = cut_off
        self.refresh_title()

    async def freeze(self) -> None:
        """The turn is over: the title says so (the body was finished when the trace settled)."""
        await self.settle(self.seconds, cut_off=self.cut_off)

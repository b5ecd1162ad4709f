"""A tool call in an answer: one line (``⚙ server.tool(arg=…) · 0.4s · ok``) that unfolds to the
call's arguments and the tool's result.

A finished call is drawn once: its line when composed, its body when first unfolded (most are
never unfolded). A running call redraws its one line twice a second for its clock, without a
layout pass.
"""

from __future__ import annotations

import json
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.reactive import reactive

from r1chat.conversation import ToolCallPart, ToolResultPart
from r1chat.sanitize import strip_controls, to_json
from r1chat.search import term_spans
from r1chat.tools.runner import ABANDONED, NOT_RUN
from r1chat.ui.widgets import trace
from r1chat.ui.widgets.frames import frames
from r1chat.ui.widgets.one_pass import Block, Holder
from r1chat.ui.widgets.trace import FoldTitle

# The line shows the arguments in short: each value cut to this many characters, the whole list
# to ARGUMENTS_SHOWN (the body has them in full).
VALUE_SHOWN = 24
ARGUMENTS_SHOWN = 48
# A result longer than this shows its start in the body, and how much more there is.
RESULT_SHOWN = 20_000
TICK_EVERY = 3  # a running call's clock is redrawn every this many of the app's frames (half a second)

RUNNING, OK, ERROR, DENIED, INTERRUPTED = "running…", "ok", "error", "denied", "interrupted"
ASKING = "waiting for approval"
_STYLE = {RUNNING: "$accent", ASKING: "$warning", OK: "$success", ERROR: "$error", DENIED: "$warning",
          INTERRUPTED: "$warning"}


def qualified_name(call: ToolCallPart) -> str:
    """``server.tool``, as the reader knows them (the bare name when no server is known)."""
    return strip_controls(f"{call.server}.{call.name}" if call.server else call.name)


def _short(value: Any, limit: int) -> str:
    text = json.dumps(value, ensure_ascii=False)
    text = " ".join(strip_controls(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def arguments_in_short(arguments: dict[str, Any]) -> str:
    """``city="Paris", days=3``, cut with an ellipsis where it gets long."""
    said = ", ".join(f"{strip_controls(str(key))}={_short(value, VALUE_SHOWN)}" for key, value in arguments.items())
    return said if len(said) <= ARGUMENTS_SHOWN else said[: ARGUMENTS_SHOWN - 1] + "…"


def pretty_arguments(arguments: dict[str, Any]) -> str:
    """The arguments as indented JSON, control characters escaped (text for the screen)."""
    if not arguments:
        return "(none)"
    return to_json(arguments, indent=2)


def outcome(result: ToolResultPart | None, *, running: bool) -> str:
    if result is None:
        return RUNNING if running else INTERRUPTED
    if result.denied:
        return DENIED
    if result.is_error and result.text in (ABANDONED, NOT_RUN):
        return INTERRUPTED
    return ERROR if result.is_error else OK


def call_line(call: ToolCallPart, result: ToolResultPart | None, *, expanded: bool, running: bool,
              seconds: float | None = None, asking: bool = False) -> Content:
    """The call's one line: arrow, gear, name and arguments in short, time, outcome."""
    said = ASKING if asking and result is None else outcome(result, running=running)
    if seconds is None and result is not None:
        seconds = result.seconds
    timing = f" · {seconds:.1f}s" if seconds is not None and said not in (DENIED, ASKING) else ""
    return Content.assemble(
        ("▼ " if expanded else "▶ ", "bold"),
        ("⚙ ", ""),
        (qualified_name(call), "bold"),
        f"({arguments_in_short(call.arguments)})",
        timing,
        " · ",
        (said, _STYLE[said]),
    )


def call_body(call: ToolCallPart, result: ToolResultPart | None, *, running: bool) -> Content:
    """What the call unfolds to: its arguments in full, then what the tool answered."""
    parts: list[Content | tuple[str, str] | str] = [("Arguments\n", "bold"), pretty_arguments(call.arguments)]
    said = outcome(result, running=running)
    if result is None:
        parts += [("\n\nResult\n", "bold"), ("still running" if running else "none: the turn stopped first", "italic")]
    elif said == DENIED:
        parts += [("\n\nResult\n", "bold"), ("denied: the tool did not run, and the model was told so", "italic")]
    elif said == INTERRUPTED and result.text == NOT_RUN:
        parts += [("\n\nResult\n", "bold"), ("none: the turn stopped before the call was allowed; it did not "
                                             "run", "italic")]
    elif said == INTERRUPTED:
        parts += [("\n\nResult\n", "bold"), ("none: the turn stopped first; the call may still finish on "
                                             "the server", "italic")]
    else:
        text = strip_controls(result.text) or "(empty)"
        if len(text) > RESULT_SHOWN:
            text = text[:RESULT_SHOWN] + f"\n… {len(text) - RESULT_SHOWN:,} more characters"
        parts += [("\n\nResult" + (" (an error)" if said == ERROR else "") + "\n", "bold"), text]
    return Content.assemble(*parts)


class ToolCallTitle(FoldTitle):
    BINDINGS = [Binding("enter,space", "fold", "Unfold tool call", id="tool_call.toggle")]


class ToolCall(Holder, Vertical):
    """One call and its result (None while it runs, or when the turn stopped before it ended)."""

    expanded: reactive[bool] = reactive(False, init=False)

    def __init__(self, call: ToolCallPart, result: ToolResultPart | None = None, *, live: bool = False) -> None:
        super().__init__(classes="tool-call")
        self.call = call
        self.result = result
        self.live = live and result is None
        self._started = trace.clock()
        self._drawn = False  # the body is drawn when first unfolded
        self.asking = False  # the user is being asked to allow it
        self.marked: tuple[tuple[str, ...], str] = ((), "")  # a search's words, and their style

    @property
    def call_id(self) -> str:
        return self.call.id

    @property
    def outcome(self) -> str:
        return outcome(self.result, running=self.live)

    def compose(self) -> ComposeResult:
        yield ToolCallTitle(self._line(), classes="tool-call-title")
        yield Block(classes="tool-call-body")

    def on_mount(self) -> None:
        if self.live:  # its clock ticks on the app's frames while it runs
            frames(self.app).join(self._tick, every=TICK_EVERY)

    def on_unmount(self) -> None:
        frames(self.app).leave(self._tick)

    def _line(self) -> Content:
        seconds = trace.clock() - self._started if self.live and not self.asking else None
        return call_line(self.call, self.result, expanded=self.expanded, running=self.live, seconds=seconds,
                         asking=self.asking)

    def ask(self, asking: bool) -> None:
        """The user is asked whether it may run (True), or answered (False): its clock starts then."""
        self.asking = asking
        if not asking:
            self._started = trace.clock()
        self._redraw()

    def _tick(self) -> None:
        # The clock can tick while the call is taken down (quitting mid-call removes the title
        # first): there is no title left to tick then.
        for title in self.query_children(ToolCallTitle):
            if self.live:
                title.update(self._line(), layout=False)

    def _body(self) -> Content:
        body = call_body(self.call, self.result, running=self.live)
        words, style = self.marked
        for start, end in term_spans(body.plain, words):
            body = body.stylize(style, start, end)
        return body

    def _redraw(self) -> None:
        self.query_one(ToolCallTitle).update(self._line(), layout=False)
        if self._drawn:
            self.query_one(".tool-call-body", Block).update(self._body())

    def mark(self, words: tuple[str, ...], style: str) -> None:
        """Highlight a search's ``words`` in the arguments and result, unfolded when they are
        there (a search finds a tool's text as the answer's); () for none."""
        self.marked = (words, style)
        found = bool(words) and bool(term_spans(call_body(self.call, self.result, running=self.live).plain, words))
        if found and not self.expanded:
            self.expanded = True  # drawn, marked, by the watcher
        elif self._drawn:
            self.query_one(".tool-call-body", Block).update(self._body())

    def watch_expanded(self, expanded: bool) -> None:
        if expanded and not self._drawn:
            self._drawn = True
            self.query_one(".tool-call-body", Block).update(self._body())
        self.set_class(expanded, "-expanded")
        self.query_one(ToolCallTitle).update(self._line(), layout=False)

    @on(ToolCallTitle.Pressed)
    def _pressed(self, event: ToolCallTitle.Pressed) -> None:
        event.stop()
        self.expanded = not self.expanded

    def finish(self, result: ToolResultPart | None) -> None:
        """The call ended (``result``), or the turn stopped while it ran (None)."""
        frames(self.app).leave(self._tick)
        self.live = False
        self.result = result
        self._redraw()

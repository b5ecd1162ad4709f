"""One message of the conversation: the user's prompt, or an answer with its trace."""

from __future__ import annotations

from collections.abc import Iterator

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.events import Click
from textual.message import Message as TextualMessage

from r1chat.attachments import attachments_of, describe, is_image
from r1chat.conversation import (
    APP_STOPPED,
    USER_STOPPED,
    Message,
    MessageStatus,
    ReasoningPart,
    ToolCallPart,
    ToolResultPart,
)
from r1chat.latex import final_answer, math_to_text
from r1chat.sanitize import ControlFilter, strip_controls
from r1chat.search import term_spans
from r1chat.ui.widgets.markdown import Lines, LiveText, found_style, rendered
from r1chat.ui.widgets.one_pass import Block, Holder
from r1chat.ui.widgets.tool_call import ToolCall
from r1chat.ui.widgets.trace import Trace

# A prompt longer than this shows its start and how much more there is (a pasted log or file:
# laying out a megabyte on every resize is not worth it; the whole text is stored and sent).
SHOWN_PROMPT = 4_000


def _shown_prompt(text: str, attached: tuple[str, ...] = ()) -> Content:
    text = strip_controls(text)
    chips = "".join(f"\n[{strip_controls(chip)}]" for chip in attached)
    if len(text) <= SHOWN_PROMPT:
        return Content.assemble(text, (chips.lstrip("\n") if not text else chips, "$accent"))
    rest = text[SHOWN_PROMPT:]
    more = f"\n… {rest.count(chr(10)):,} more lines, {len(rest):,} more characters (all of it was sent)"
    return Content.assemble(text[:SHOWN_PROMPT], (more, "$foreground-muted italic"), (chips, "$accent"))


class UserMessage(Block):
    def __init__(self, message: Message) -> None:
        attached = tuple(describe(part) + (" · not stored" if is_image(part) and part.data is None else "")
                         for part in attachments_of(message))
        self.shown = _shown_prompt(message.content, attached)
        super().__init__(self.shown, classes="user-message")
        self.message = message

    def mark(self, words: tuple[str, ...]) -> None:
        """Highlight a search's ``words`` in the prompt; () for none."""
        shown, style = self.shown, found_style(self.app)
        for start, end in term_spans(shown.plain, words):
            shown = shown.stylize(style, start, end)
        self.update(shown)


class FinalAnswer(Block):
    r"""The value of the answer's last ``\boxed{…}``, readable; a click copies it as written."""

    def __init__(self, value: str) -> None:
        super().__init__(classes="final-answer")
        self.value = value
        self.update(Content.assemble(("∎ Final answer: ", "bold"), (strip_controls(math_to_text(value)), "bold")))
        self.tooltip = "Click to copy the value"

    def on_click(self) -> None:
        self.app.copy_to_clipboard(self.value)
        self.notify(f"Copied the final answer ({len(self.value)} characters)", timeout=2)


class Footnote(Block):
    """The line under an answer: ``‹ 2/3 ›`` when the exchange has several versions (a click on an
    arrow asks for the one before or after), then the model and what the turn spent."""

    # Left padding (chat.tcss): the arrows' columns are counted from it.
    PADDING = 2

    class Step(TextualMessage):
        """The reader clicked ``‹`` (``step=-1``) or ``›`` (``step=1``)."""

        def __init__(self, answer: AssistantMessage, step: int) -> None:
            super().__init__()
            self.answer = answer
            self.step = step

    def __init__(self, answer: AssistantMessage) -> None:
        super().__init__(classes="footnote")
        self.answer = answer
        self.nav = ""

    def show(self, body: Content, version: tuple[int, int] | None) -> None:
        self.nav = f"‹ {version[0]}/{version[1]} ›" if version is not None and version[1] > 1 else ""
        if self.nav:
            body = Content.assemble((self.nav, "bold"), ("  ", ""), body)
        self.update(body)

    def on_click(self, event: Click) -> None:
        x = event.x - self.PADDING
        if self.nav and 0 <= x <= 1:
            self.post_message(self.Step(self.answer, -1))
        elif self.nav and len(self.nav) - 2 <= x < len(self.nav):
            self.post_message(self.Step(self.answer, 1))


class Steps(Holder, Vertical):
    """What the model did before its answer, in order: trace segments and tool calls (trace 1 →
    call → result → trace 2). Side by side, this is the column beside the answer."""


class AssistantMessage(Holder, Vertical):
    """The trace (when there is one) and the answer, inline or side by side (CSS decides).

    An answer that called tools shows each trace segment (with its own timing) and each call in
    the order they happened; one that did not shows its trace as one.

    ``version`` is (its number, how many) in its exchange, for the ``‹ 1/2 ›`` in the footnote.
    """

    def __init__(
        self, message: Message, *, collapse: str = "on-answer", version: tuple[int, int] | None = None
    ) -> None:
        super().__init__(classes="assistant-message")
        self.message = message
        self.collapse = collapse
        self.version = version
        self.streaming = message.status is MessageStatus.STREAMING
        self._filter = ControlFilter()
        self._answer = [""]  # pieces, joined when read (as the trace's)
        # Kept, not queried: streaming asks for it on every token. The latest trace segment.
        self.trace: Trace | None = None
        self.steps = Steps(classes="steps")
        self._live: LiveText | None = None
        self._called_since_trace = False  # a tool call came after the latest trace: a new segment next
        self.footnote = Footnote(self)

    @property
    def answer_text(self) -> str:
        """The answer streamed so far, control sequences removed."""
        if len(self._answer) > 1:
            self._answer[:] = ["".join(self._answer)]
        return self._answer[0]

    def compose(self) -> ComposeResult:
        message = self.message
        steps = [] if self.streaming else list(self._finished_steps(message))
        self.steps.display = bool(steps)
        self.set_class(bool(steps), "-has-trace")
        with self.steps:
            yield from steps
        if self.streaming:
            yield LiveText(classes="answer")
        else:
            yield Lines(rendered(message.content), classes="answer")
            if value := final_answer(message.content):
                yield FinalAnswer(value)
        self.footnote.show(self._footnote(), self.version)
        yield self.footnote

    def _finished_steps(self, message: Message) -> Iterator[Trace | ToolCall]:
        collapsed = self.collapse != "never"
        if not any(isinstance(part, ToolCallPart) for part in message.parts):
            if message.reasoning:
                yield self._new_trace(Trace(
                    message.reasoning,
                    collapsed=collapsed,
                    seconds=message.reasoning_seconds,
                    tokens=_trace_tokens(message),
                    cut_off=_cut_off(message),
                ))
            return
        results = {part.call_id: part for part in message.parts if isinstance(part, ToolResultPart)}
        shown = [part for part in message.parts if isinstance(part, ToolCallPart) or
                 (isinstance(part, ReasoningPart) and part.text)]
        for number, part in enumerate(shown, 1):
            if isinstance(part, ToolCallPart):
                yield self._new_call(ToolCall(part, results.get(part.id)))
            elif isinstance(part, ReasoningPart):
                yield self._new_trace(Trace(
                    part.text,
                    collapsed=collapsed,
                    seconds=part.seconds(message.finished_at),
                    tokens=part.tokens or 0,
                    cut_off=number == len(shown) and _cut_off(message),
                ))

    def on_mount(self) -> None:
        self._refold()

    def _new_trace(self, trace: Trace) -> Trace:
        self.trace = trace
        self.watch(trace, "collapsed", self._refold, init=False)
        self._called_since_trace = False
        return trace

    def _new_call(self, call: ToolCall) -> ToolCall:
        self.watch(call, "expanded", self._refold, init=False)
        self._called_since_trace = True
        return call

    def mark(self, words: tuple[str, ...]) -> None:
        """Highlight a search's ``words`` in the answer and the trace; () for none."""
        for lines in self.query(".answer, .trace-body").results(Lines):
            lines.mark(words)
        if calls := self.calls:
            style = found_style(self.app)
            for call in calls:
                call.mark(words, style)

    def _refold(self, _: bool = False) -> None:
        # Side by side, folded traces and calls are lines of title: over the answer, which takes
        # the width (chat.tcss).
        steps = self.steps.children
        folded = all(
            step.collapsed if isinstance(step, Trace) else not step.expanded
            for step in steps if isinstance(step, (Trace, ToolCall))
        )
        self.set_class(folded and bool(steps), "-trace-folded")

    def set_version(self, version: tuple[int, int] | None) -> None:
        self.version = version
        self.footnote.show(self._footnote(), version)

    def _footnote(self) -> Content:
        message = self.message
        if message.status is MessageStatus.ERROR:
            return Content.styled(f"⚠ {strip_controls(message.error or 'failed')}", "$error")
        if message.status is MessageStatus.INTERRUPTED:
            return Content.styled(f"■ {_stop_reason(message.error)}", "$warning")
        parts = [strip_controls(message.model or ""), *trace_statistics(message)]
        said = Content.styled(" · ".join(p for p in parts if p), "$foreground-muted")
        if message.stats.history_cut:
            said = Content.assemble(said, (" · ⚠ history cut to fit the window", "$warning"))
        return said

    @property
    def calls(self) -> list[ToolCall]:
        return [step for step in self.steps.children if isinstance(step, ToolCall)]

    @property
    def traces(self) -> list[Trace]:
        return [step for step in self.steps.children if isinstance(step, Trace)]

    # --- streaming ---------------------------------------------------------------------------

    async def _show_step(self, step: Trace | ToolCall) -> None:
        if not self.steps.display:
            self.steps.display = True
            self.add_class("-has-trace")
        await self.steps.mount(step)
        self._refold()

    async def add_reasoning(self, text: str) -> None:
        trace = self.trace
        if trace is None or self._called_since_trace:
            trace = Trace(live=True, collapsed=self.collapse == "always")
            await self._show_step(trace)
            self._new_trace(trace)  # the latest trace once it is composed: others query it
        await trace.append(text)

    async def add_content(self, text: str) -> None:
        if self.trace is not None and self.trace.live:
            await self._end_trace()  # the answer began: the trace was whole
        clean = self._filter.feed(text)
        if not clean:
            return
        self._answer.append(clean)
        if self._live is None:  # found once: a query per token cost a tenth of a fast stream
            self._live = self.query_one(".answer", LiveText)
        self._live.write(clean)

    async def _end_trace(self) -> None:
        trace = self.trace
        if trace is None or not trace.live:
            return
        if self._called_since_trace or len(self.message.segments) > 1 or self.calls:
            # A segment of several: its own time and count.
            segment = self.message.segments[-1] if self.message.segments else None
            await trace.settle(segment.seconds() if segment is not None else None, cut_off=False)
        else:
            await self._settle_trace(cut_off=False)
        if self.collapse == "on-answer" and not trace.touched_by_user:
            trace.collapsed = True

    async def call_started(self, call: ToolCallPart) -> None:
        """A tool call begins: the trace before it is over, the call shows as running."""
        await self._end_trace()
        step = ToolCall(call, live=True)
        await self._show_step(step)
        self._new_call(step)

    def call_asking(self, call_id: str, asking: bool) -> None:
        """Whether the user is being asked to allow the call ``call_id``."""
        for call in self.calls:
            if call.call_id == call_id and call.live:
                call.ask(asking)

    def call_ended(self, call_id: str, result: ToolResultPart | None) -> None:
        for call in self.calls:
            if call.call_id == call_id and call.live:
                call.finish(result)

    async def _settle_trace(self, *, cut_off: bool) -> None:
        trace = self.trace
        if trace is not None and trace.live:
            message = self.message
            await trace.settle(
                message.reasoning_seconds, tokens=message.stats.reasoning_tokens, cut_off=cut_off
            )

    async def finish(self, message: Message) -> None:
        """The turn ended (done, stopped or failed): settle everything, then draw it cheaply."""
        self.message = message
        self.streaming = False
        results = {part.call_id: part for part in message.parts if isinstance(part, ToolResultPart)}
        for call in self.calls:
            if call.live:
                call.finish(results.get(call.call_id))  # None: stopped while it ran
        traces = self.traces
        segments = [segment for segment in message.segments if segment.text]
        if self.calls and len(traces) == len(segments):
            for step, segment in zip(traces, segments, strict=True):
                seconds = segment.seconds(message.finished_at)
                if step.live:
                    await step.settle(seconds, tokens=segment.tokens, cut_off=_cut_off(message))
                elif segment.ended_at is not None:
                    step.seconds, step.tokens = seconds, segment.tokens or step.tokens
                    step.refresh_title()
        await self._settle_trace(cut_off=_cut_off(message))
        trace = self.trace
        if trace is not None and message.stats.reasoning_was_answer and not self.calls:
            # What streamed as a guessed trace was the answer: show it as one.
            await trace.remove()
            self.trace = None
            self.steps.display = False
            self.remove_class("-has-trace", "-trace-folded")
        elif trace is not None and not self.calls:
            trace.cut_off = _cut_off(message)
            trace.tokens = message.stats.reasoning_tokens or trace.tokens
            trace.seconds = message.reasoning_seconds
            await trace.freeze()
        with self.app.batch_update():
            # Its whole blocks are drawn already: only the last is drawn again, highlighted.
            await self.query_one(".answer", LiveText).finish(message.content)
            if value := final_answer(message.content):
                await self.mount(FinalAnswer(value), before=self.footnote)
            self.footnote.show(self._footnote(), self.version)


def trace_statistics(message: Message) -> list[str]:
    """How the turn spent its tokens: trace vs answer, and how long the answer took to begin."""
    stats = message.stats
    if stats.reasoning_was_answer or not message.reasoning:
        return []
    parts = []
    trace, total = stats.reasoning_tokens, stats.completion_tokens
    if trace:
        parts.append(f"trace {trace:,} tok")
        if total is not None and total >= trace and message.content:
            parts.append(f"answer {total - trace:,} tok")
    if message.content and message.reasoning_ended_at is not None:
        parts.append(f"answer after {max(0.0, message.reasoning_ended_at - message.created_at):.1f}s")
    return parts


def _trace_tokens(message: Message) -> int:
    """The trace's tokens: the final count, else (a turn cut short, or stored before its counts
    were kept) those its segments counted as they streamed."""
    return message.stats.reasoning_tokens or sum(segment.tokens or 0 for segment in message.segments)


def _stop_reason(reason: str | None) -> str:
    """What the footnote of an interrupted answer says: why, when r1chat itself stopped it."""
    if reason is None or reason in (USER_STOPPED, APP_STOPPED):
        return "interrupted"
    reason = strip_controls(reason).rstrip(".")
    return reason[:1].lower() + reason[1:]


def _cut_off(message: Message) -> bool:
    return message.stats.reasoning_truncated or (
        message.status is not MessageStatus.DONE and bool(message.reasoning) and not message.content
    )

"""One message of the conversation: the user's prompt, or an answer with its trace."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.events import Click
from textual.message import Message as TextualMessage

from r1chat.conversation import APP_STOPPED, USER_STOPPED, Message, MessageStatus
from r1chat.latex import final_answer, math_to_text
from r1chat.sanitize import ControlFilter, strip_controls
from r1chat.search import term_spans
from r1chat.ui.widgets.markdown import Lines, LiveText, found_style, rendered
from r1chat.ui.widgets.one_pass import Block, OnePass
from r1chat.ui.widgets.trace import Trace

# A prompt longer than this shows its start and how much more there is (a pasted log or file:
# laying out a megabyte on every resize is not worth it; the whole text is stored and sent).
SHOWN_PROMPT = 4_000


def _shown_prompt(text: str) -> Content:
    text = strip_controls(text)
    if len(text) <= SHOWN_PROMPT:
        return Content(text)
    rest = text[SHOWN_PROMPT:]
    more = f"\n… {rest.count(chr(10)):,} more lines, {len(rest):,} more characters (all of it was sent)"
    return Content.assemble(text[:SHOWN_PROMPT], (more, "$foreground-muted italic"))


class UserMessage(Block):
    def __init__(self, message: Message) -> None:
        self.shown = _shown_prompt(message.content)
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


class AssistantMessage(OnePass, Vertical):
    """The trace (when there is one) and the answer, inline or side by side (CSS decides).

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
        # Kept, not queried: streaming asks for it on every token.
        self.trace: Trace | None = None
        self._live: LiveText | None = None
        self.footnote = Footnote(self)

    @property
    def answer_text(self) -> str:
        """The answer streamed so far, control sequences removed."""
        if len(self._answer) > 1:
            self._answer[:] = ["".join(self._answer)]
        return self._answer[0]

    def compose(self) -> ComposeResult:
        message = self.message
        if message.reasoning and not self.streaming:
            self.add_class("-has-trace")
            self.trace = Trace(
                message.reasoning,
                collapsed=self.collapse != "never",
                seconds=message.reasoning_seconds,
                tokens=_trace_tokens(message),
                cut_off=_cut_off(message),
            )
            self._follow_fold(self.trace)
            yield self.trace
        if self.streaming:
            yield LiveText(classes="answer")
        else:
            yield Lines(rendered(message.content), classes="answer")
            if value := final_answer(message.content):
                yield FinalAnswer(value)
        self.footnote.show(self._footnote(), self.version)
        yield self.footnote

    def mark(self, words: tuple[str, ...]) -> None:
        """Highlight a search's ``words`` in the answer and the trace; () for none."""
        for lines in self.query(".answer, .trace-body").results(Lines):
            lines.mark(words)

    def _follow_fold(self, trace: Trace) -> None:
        # Side by side, a folded trace is one line of title: the answer takes the width (chat.tcss).
        self.watch(trace, "collapsed", self._trace_folded)

    def _trace_folded(self, folded: bool) -> None:
        self.set_class(folded, "-trace-folded")

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

    # --- streaming ---------------------------------------------------------------------------

    async def add_reasoning(self, text: str) -> None:
        trace = self.trace
        if trace is None:
            trace = self.trace = Trace(live=True, collapsed=self.collapse == "always")
            self.add_class("-has-trace")
            self._follow_fold(trace)
            await self.mount(trace, before=0)
        await trace.append(text)

    async def add_content(self, text: str) -> None:
        trace = self.trace
        if trace is not None and trace.live:
            await self._settle_trace(cut_off=False)  # the answer began: the trace was whole
            if self.collapse == "on-answer" and not trace.touched_by_user:
                trace.collapsed = True
        clean = self._filter.feed(text)
        if not clean:
            return
        self._answer.append(clean)
        if self._live is None:  # found once: a query per token cost a tenth of a fast stream
            self._live = self.query_one(".answer", LiveText)
        self._live.write(clean)

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
        await self._settle_trace(cut_off=_cut_off(message))
        trace = self.trace
        if trace is not None and message.stats.reasoning_was_answer:
            # What streamed as a guessed trace was the answer: show it as one.
            await trace.remove()
            self.trace = None
            self.remove_class("-has-trace", "-trace-folded")
        elif trace is not None:
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

"""One message of the conversation: the user's prompt, or an answer with its trace."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Markdown, Static

from r1chat.conversation import Message, MessageStatus
from r1chat.sanitize import ControlFilter, strip_controls
from r1chat.ui.widgets.markdown import BatchedStream, LiveMarkdown, rendered
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


class UserMessage(Static):
    def __init__(self, message: Message) -> None:
        super().__init__(_shown_prompt(message.content), classes="user-message")
        self.message = message


class AssistantMessage(Vertical):
    """The trace (when there is one) and the answer, inline or side by side (CSS decides)."""

    def __init__(self, message: Message, *, collapse: str = "on-answer") -> None:
        super().__init__(classes="assistant-message")
        self.message = message
        self.collapse = collapse
        self.streaming = message.status is MessageStatus.STREAMING
        self._filter = ControlFilter()
        self._stream = None
        self.answer_text = ""
        # Kept, not queried: streaming asks for it on every token.
        self.trace: Trace | None = None

    def compose(self) -> ComposeResult:
        message = self.message
        if message.reasoning and not self.streaming:
            self.add_class("-has-trace")
            self.trace = Trace(
                message.reasoning,
                collapsed=self.collapse != "never",
                seconds=message.reasoning_seconds,
                tokens=message.stats.reasoning_tokens or 0,
                cut_off=_cut_off(message),
            )
            yield self.trace
        if self.streaming:
            yield LiveMarkdown(classes="answer")
        else:
            yield Static(rendered(message.content), classes="answer")
        yield Static(self._footnote(), classes="footnote")

    def _footnote(self) -> Content:
        message = self.message
        if message.status is MessageStatus.ERROR:
            return Content.styled(f"⚠ {strip_controls(message.error or 'failed')}", "$error")
        if message.status is MessageStatus.INTERRUPTED:
            return Content.styled("■ interrupted", "$warning")
        return Content.styled(strip_controls(message.model or ""), "$foreground-muted")

    # --- streaming ---------------------------------------------------------------------------

    async def add_reasoning(self, text: str) -> None:
        trace = self.trace
        if trace is None:
            trace = self.trace = Trace(live=True, collapsed=self.collapse == "always")
            self.add_class("-has-trace")
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
        self.answer_text += clean
        if self._stream is None:
            self._stream = BatchedStream(self.query_one(".answer", Markdown))
        self._stream.write(clean)

    async def _settle_trace(self, *, cut_off: bool) -> None:
        trace = self.trace
        if trace is not None and trace.live:
            message = self.message
            await trace.settle(message.reasoning_seconds, tokens=message.stats.reasoning_tokens, cut_off=cut_off)

    async def finish(self, message: Message) -> None:
        """The turn ended (done, stopped or failed): settle everything, then draw it cheaply."""
        self.message = message
        self.streaming = False
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        await self._settle_trace(cut_off=_cut_off(message))
        trace = self.trace
        if trace is not None and message.stats.reasoning_was_answer:
            # What streamed as a guessed trace was the answer: show it as one.
            await trace.remove()
            self.trace = None
            self.remove_class("-has-trace")
        elif trace is not None:
            trace.cut_off = _cut_off(message)
            trace.tokens = message.stats.reasoning_tokens or trace.tokens
            trace.seconds = message.reasoning_seconds
            await trace.freeze()
        with self.app.batch_update():
            await self.query_one(".answer").remove()
            await self.mount(Static(rendered(message.content), classes="answer"), before=self.query_one(".footnote"))
            self.query_one(".footnote", Static).update(self._footnote())


def _cut_off(message: Message) -> bool:
    return message.stats.reasoning_truncated or (
        message.status is not MessageStatus.DONE and bool(message.reasoning) and not message.content
    )

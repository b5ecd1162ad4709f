"""The scrolling conversation. Only a window of messages is mounted; the others on request.

It shows each exchange's current version (``‹ 1/2 ›`` under an answer with others), and renders
the turns the session streams into it: a new exchange at the end, a retry or an edit in place of
the version it answers again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from textual import on, work
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.widgets import Static

from r1chat.backends.base import Content as ContentPiece
from r1chat.backends.base import Reasoning
from r1chat.compare_events import ColumnEvent, CompareEnded, CompareStarted, Waiting
from r1chat.conversation import Conversation, Exchange, Message, MessageStatus, Role
from r1chat.grade import agree, final_answer
from r1chat.refs import ModelRef
from r1chat.session import (
    ConversationReloaded,
    SessionEvent,
    ToolCallEnded,
    ToolCallStarted,
    TurnEnded,
    TurnStarted,
)
from r1chat.ui.widgets.compare import MIN_COLUMN, CompareAnswers
from r1chat.ui.widgets.message import AssistantMessage, Footnote, UserMessage
from r1chat.ui.widgets.one_pass import Holder
from r1chat.ui.widgets.trace import Trace


class HiddenMessages(Static, can_focus=True):
    """Stands for messages not mounted above (``earlier``) or below (``later``) the window."""

    BINDINGS = [Binding("enter", "show", "Show them", id="conversation.show_hidden")]

    class Wanted(TextualMessage):
        def __init__(self, marker: HiddenMessages) -> None:
            super().__init__()
            self.marker = marker

    def __init__(self, count: int, *, later: bool = False) -> None:
        super().__init__(classes="hidden-messages later" if later else "hidden-messages earlier")
        self.later = later
        self.set_count(count)

    def set_count(self, count: int) -> None:
        self.count = count
        arrow, where = ("↓", "later") if self.later else ("↑", "earlier")
        self.update(Content(f"{arrow} {count} {where} messages · click or Enter to show them"))

    def action_show(self) -> None:
        self.post_message(self.Wanted(self))

    def on_click(self) -> None:
        self.post_message(self.Wanted(self))


class EmptyConversation(Static):
    def __init__(self, hint: Content) -> None:
        super().__init__(hint, classes="empty")


class ConversationView(Holder, VerticalScroll, can_focus=False):
    class VersionWanted(TextualMessage):
        """The reader asked for version ``index`` of ``exchange`` (a key, or a click on an arrow)."""

        def __init__(self, exchange: Exchange, index: int) -> None:
            super().__init__()
            self.exchange = exchange
            self.index = index

    """Mounts a window of at most about ``WINDOW`` messages; markers stand for the rest.

    A long conversation opens at its end, or around one message (a search hit); the markers
    mount the next ``WINDOW`` messages in their direction on request.
    """

    WINDOW = 40
    # Opened at its end, a conversation shows its last ``FIRST`` messages in the first frame;
    # the rest of the window is mounted above them after it, ``FILL`` at a time. (All 40 at
    # once took about 0.25 s before the first frame; each batch is a few tens of milliseconds,
    # so keys typed meanwhile are not held up. Anchored at the bottom, nothing on screen moves.)
    FIRST = 12
    FILL = 6
    # As a session goes on, the oldest are unmounted this many at a time once the window is
    # longer than WINDOW: a layout pass for a few turns, not one for each.
    TRIM = 10

    def __init__(self, *, collapse: str = "on-answer", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.collapse = collapse  # when traces fold: on-answer, always, never
        self.empty_hint = Content.assemble(
            ("r1chat", "bold"),
            "\nA new conversation. Type a prompt below and press Enter.\n",
            ("Ctrl+P: all commands · F1: help · Ctrl+Q: quit", "$foreground-muted"),
        )
        self.conversation = Conversation()
        self._messages: list[Message] = []  # the conversation as it reads: current versions
        self._versions: dict[Message, tuple[int, int]] = {}  # answer -> (its number, versions)
        self._start = self._end = 0  # the mounted window: self._messages[_start:_end]
        self._shown = 0  # conversations shown so far: a fill asked for by an earlier one stops
        self.live: AssistantMessage | None = None  # the answer streaming into the view
        self.live_compare: CompareAnswers | None = None  # the compare turn streaming into it
        self._compares: dict[Message, Exchange] = {}  # each compare turn's answers -> their exchange
        # What an answer cost, where known (the chat screen gives the session's way of knowing).
        self.cost_of: Callable[[Message], float | None] = lambda message: None
        # The conversation the session is in (a compare turn's events do not name it).
        self.session_conversation: Callable[[], Conversation] = lambda: self.conversation
        # The key that chooses column n, as bound now (the chat screen gives it), for the hint.
        self.choose_keys: Callable[[int], str] = lambda count: ""
        self.marked: UserMessage | AssistantMessage | None = None  # highlighting a search's words

    def compose(self):
        yield EmptyConversation(self.empty_hint)

    def on_mount(self) -> None:
        # Follow new text while the reader is at the bottom; scrolling up stops it (Textual).
        self.anchor()

    def _widget_for(self, message: Message) -> UserMessage | AssistantMessage | CompareAnswers | None:
        if message.role is Role.USER:
            return UserMessage(message)
        if message.role is Role.ASSISTANT and message in self._compares:
            return self._compare_widget(self._compares[message])
        if message.role is Role.ASSISTANT:
            return AssistantMessage(message, collapse=self.collapse, version=self._versions.get(message))
        return None

    def _count_versions(self) -> list[Exchange]:
        exchanges = self.conversation.exchanges()
        self._compares = {answer: exchange for exchange in exchanges if exchange.is_compare for answer in exchange.columns()}
        self._versions = {
            version.answer: (number, len(exchange.versions))
            for exchange in exchanges
            if len(exchange.versions) > 1 and not exchange.is_compare
            for number, version in enumerate(exchange.versions, 1)
            if version.answer is not None
        }
        return exchanges

    def _widgets_for(self, messages: list[Message]) -> list:
        return [w for w in map(self._widget_for, messages) if w is not None]

    @property
    def hidden_later(self) -> int:
        return len(self._messages) - self._end

    async def show(self, conversation: Conversation, *, around: int | None = None) -> None:
        """Show ``conversation`` from its end, or around the message with id ``around``."""
        self.conversation = conversation
        self.live = None
        self.marked = None  # its widgets go
        self._count_versions()
        messages = conversation.current_messages()
        self._messages = messages
        index = next((i for i, m in enumerate(messages) if m.id == around), None) if around is not None else None
        if index is None:
            self._end = len(messages)
        else:
            self._end = min(len(messages), max(index + 1 + self.WINDOW // 2, self.WINDOW))
        self._start = max(0, self._end - self.WINDOW)
        self.workers.cancel_group(self, "fill")
        self._shown += 1
        window_start = self._start
        if index is None:
            self._start = max(self._start, self._end - self.FIRST)
        widgets = self._widgets_for(messages[self._start:self._end])
        if self._start:
            widgets.insert(0, HiddenMessages(self._start))
        if self.hidden_later:
            widgets.append(HiddenMessages(self.hidden_later, later=True))
        with self.app.batch_update():
            await self.remove_children()
            await self.mount_all(widgets or [EmptyConversation(self.empty_hint)])
        if index is None:
            self.scroll_end(animate=False)
            self.anchor()
            if self._start > window_start:
                self.call_after_refresh(self._fill, window_start, self._shown)
        else:
            self.anchor(False)

    @work(group="fill", exclusive=True, exit_on_error=False)
    async def _fill(self, window_start: int, shown: int) -> None:
        """Mount the rest of the window above what the first frame showed, a batch at a time."""
        while self._start > window_start and self._shown == shown:
            marker = self.query_children("HiddenMessages.earlier").first(HiddenMessages)
            batch = self._messages[max(window_start, self._start - self.FILL):self._start]
            self._start -= len(batch)
            mounted = self.mount_all(self._widgets_for(batch), after=marker)
            if self._start:
                marker.set_count(self._start)  # with the batch, not a frame after it
            else:
                marker.remove()
            await mounted
            await self._drawn()  # the batch is laid out and drawn before the next

    def _drawn(self) -> asyncio.Future[None]:
        drawn = asyncio.get_running_loop().create_future()
        self.call_after_refresh(lambda: None if drawn.done() else drawn.set_result(None))
        return drawn

    def _message_widgets(self) -> list[UserMessage | AssistantMessage | CompareAnswers]:
        """The prompts and answers shown, in order (a compare turn's answers as one)."""
        found = self.query_children(".user-message, .assistant-message, .compare-answers")
        return [w for w in found if isinstance(w, (UserMessage, AssistantMessage, CompareAnswers))]

    def widget_of(self, message_id: int) -> UserMessage | AssistantMessage | None:
        """The widget showing the message with this id (a compare turn's column, for one of its answers)."""
        for widget in self._message_widgets():
            if isinstance(widget, CompareAnswers):
                column = next((c for c in widget.columns if c.message.id == message_id), None)
                if column is not None:
                    return column.answer
            elif widget.message.id == message_id:
                return widget
        return None

    async def on_hidden_messages_wanted(self, event: HiddenMessages.Wanted) -> None:
        marker = event.marker
        if marker.later:
            batch = self._messages[self._end:self._end + self.WINDOW]
            self._end += len(batch)
            await self.mount_all(self._widgets_for(batch), before=marker)
            left = self.hidden_later
        else:
            batch = self._messages[max(0, self._start - self.WINDOW):self._start]
            self._start -= len(batch)
            await self.mount_all(self._widgets_for(batch), after=marker)
            left = self._start
        if left:
            marker.set_count(left)
        else:
            await marker.remove()

    async def add(self, message: Message) -> UserMessage | AssistantMessage | CompareAnswers:
        widget = self._widget_for(message)
        assert widget is not None
        self._messages.append(message)
        self._end = len(self._messages)
        await self.query(EmptyConversation).remove()
        await self.mount(widget)
        self.anchor()
        await self._trim()
        return widget

    async def _trim(self) -> None:
        """Keep the window about ``WINDOW`` messages as turns go on, the oldest going under the
        marker above: in a session of 300 turns every answer stayed mounted, and each turn's
        layout passes, frames and memory grew with them (1 s of CPU a turn by turn 150).
        ``add`` follows the end, so what goes is above the screen."""
        excess = self._end - self._start - self.WINDOW
        if excess < self.TRIM or any(w.node is self and w.group == "fill" and w.is_running for w in self.workers):
            return
        gone = [m for m in self._messages[self._start:self._start + excess] if m.role is not Role.SYSTEM]
        widgets = [w for w in self._message_widgets()[:len(gone)] if w is not self.live]
        if self.marked in widgets:
            self.marked = None
        self._start += excess
        markers = self.query_children("HiddenMessages.earlier")
        with self.app.batch_update():
            if markers:
                markers.first(HiddenMessages).set_count(self._start)
            else:
                await self.mount(HiddenMessages(self._start), before=0)
            await self.remove_children(widgets)

    def latest_assistant(self) -> AssistantMessage | None:
        """The last answer shown (of a compare turn, the column the conversation goes on with)."""
        found = self.query_children(".assistant-message, .compare-answers")
        if not found:
            return None
        last = found.last()
        if isinstance(last, CompareAnswers):
            return last.columns[last.chosen_index() or 0].answer
        return last if isinstance(last, AssistantMessage) else None

    # --- turns -------------------------------------------------------------------------------

    def hear(self, event: SessionEvent) -> Awaitable[None] | None:
        """Render what the session emits. Pieces come by the thousand: each goes straight to the
        answer that streams, with no coroutine of this view's in between."""
        live = self.live
        kind = type(event)
        if kind is Reasoning:
            return live.add_reasoning(event.text) if live is not None else None  # type: ignore[union-attr]
        if kind is ContentPiece:
            return live.add_content(event.text) if live is not None else None  # type: ignore[union-attr]
        if isinstance(event, TurnStarted):
            return self._started(event)
        if isinstance(event, ToolCallStarted):
            return live.call_started(event.call) if live is not None else None
        if isinstance(event, ToolCallEnded):
            if live is not None:
                live.call_ended(event.call_id, event.result)
            return None
        if isinstance(event, TurnEnded):
            return self._ended(event)
        if kind is ColumnEvent:
            return self._column_event(event)  # type: ignore[arg-type]
        if isinstance(event, ConversationReloaded):  # another window's turns, before this one's
            return self.show(event.conversation)
        if isinstance(event, CompareStarted):
            return self._compare_started(event)
        if isinstance(event, CompareEnded):
            return self._compare_ended(event)
        return None

    async def _started(self, event: TurnStarted) -> None:
        turn = event.turn
        if turn.conversation is not self.conversation or self.hidden_later:
            await self.show(turn.conversation)  # the end, where the turn goes
        exchanges = self._count_versions()
        if not event.new_exchange:  # in place of the version it answers again
            await self._replace(exchanges[-1], exchanges[-1].versions[-1].messages)
        elif self.widget_of_message(turn.assistant) is None:
            await self.add(turn.user)
            await self.add(turn.assistant)
        self.live = self.widget_of_message(turn.assistant)  # type: ignore[assignment]
        self.scroll_end(animate=False)

    async def _ended(self, event: TurnEnded) -> None:
        answer, self.live = self.live, None
        if answer is not None:
            # Also when the turn was stopped: the partial answer stays on screen, settled.
            await asyncio.shield(answer.finish(event.turn.assistant))
        if event.turn.new_exchange:
            return
        exchange = self._count_versions()[-1]
        await self._replace(exchange, exchange.shown.messages)  # the current one: back if it failed

    # --- compare turns -------------------------------------------------------------------------

    def _compare_widget(self, exchange: Exchange, *, live: bool = False) -> CompareAnswers:
        answers = exchange.columns()
        live = live or any(answer.status is MessageStatus.STREAMING for answer in answers)
        refs = [str(ModelRef(a.model or "?", a.provider or "?")) for a in answers]
        stacked = self.size.width // max(1, len(answers)) < MIN_COLUMN
        chosen = exchange.shown.answer
        widget = CompareAnswers(
            answers,
            refs,
            # Stacked, three traces unfolded one under another would push the other answers off
            # the screen: their titles still tick, one line each.
            collapse="always" if live and stacked else self.collapse,
            chosen=answers.index(chosen) if not live and chosen in answers else None,
            costs=[self.cost_of(answer) for answer in answers],
            stacked=stacked,
        )
        if not live:
            finals = [final_answer(a.content) if a.content else None for a in answers]
            widget.show_summary(finals, agree(finals), self.choose_keys(len(answers)))
        return widget

    def _column_event(self, event: ColumnEvent) -> Awaitable[None] | None:
        widget = self.live_compare
        if widget is None:
            return None
        inner, index = event.event, event.index
        kind = type(inner)
        if kind is Reasoning:
            return widget.live[index].add_reasoning(inner.text)  # type: ignore[union-attr]
        if kind is ContentPiece:
            return widget.live[index].add_content(inner.text)  # type: ignore[union-attr]
        if isinstance(inner, Waiting):
            widget.columns[index].say(f"⧗ {inner.describe()}")
        elif isinstance(inner, TurnStarted):
            widget.start_column(index, inner.turn)
        elif isinstance(inner, TurnEnded):
            return widget.end_column(index, inner.turn.assistant, inner.error)
        return None

    async def _compare_started(self, event: CompareStarted) -> None:
        conversation = self.session_conversation()
        if conversation is not self.conversation or self.hidden_later:
            await self.show(conversation)  # the end, where the turn goes
        exchanges = self._count_versions()
        first = event.answers[0]
        exchange = self._compares.get(first) or exchanges[-1]
        widget = self.widget_of_message(first)
        if not isinstance(widget, CompareAnswers):
            prompt = exchange.versions[0].prompt
            if prompt is not None and self.widget_of_message(prompt) is None:
                await self.add(prompt)
            widget = self._compare_widget(exchange, live=True)
            self._messages.append(first)
            self._end = len(self._messages)
            await self.query(EmptyConversation).remove()
            await self.mount(widget)
            self.anchor()
        self.live_compare = widget
        self.scroll_end(animate=False)

    async def _compare_ended(self, event: CompareEnded) -> None:
        widget, self.live_compare = self.live_compare, None
        if widget is None:
            return
        if event.current is not None:  # marked before the summary shows: one frame has both
            self.column_chosen(widget, event.current)
        await asyncio.shield(widget.end(event.finals, event.agree, event.costs, self.choose_keys(len(widget.columns))))

    def column_chosen(self, widget: CompareAnswers, index: int) -> None:
        """Column ``index`` is the answer the conversation goes on with: marked, and the one this
        view counts as the exchange's shown answer."""
        before = widget.message
        widget.choose(index)
        self._count_versions()
        if before in self._messages:
            self._messages[self._messages.index(before)] = widget.message

    def compare_answers(self) -> CompareAnswers | None:
        """The latest compare turn on screen."""
        found = self.query_children(CompareAnswers)
        return found.last() if found else None

    def exchange_of(self, widget: CompareAnswers) -> Exchange | None:
        return self._compares.get(widget.message)

    def displayed(self, exchange: Exchange) -> int | None:
        """Which version of ``exchange`` is on screen, if any."""
        members = {m: i for i, v in enumerate(exchange.versions) for m in v.messages if m.role is Role.ASSISTANT}
        for widget in self.query_children(AssistantMessage):
            if widget.message in members:
                return members[widget.message]
        return None

    async def show_version(self, exchange: Exchange, index: int) -> None:
        self._count_versions()
        await self._replace(exchange, exchange.versions[index].messages)

    async def _replace(self, exchange: Exchange, messages: list[Message]) -> None:
        """Put ``messages`` (one version of ``exchange``) where the exchange's version is shown."""
        members = {m for version in exchange.versions for m in version.messages}
        shown = [m for m in self._messages if m in members]
        position = self._messages.index(shown[0]) if shown else len(self._messages)
        self._messages[position:position + len(shown)] = messages
        self._end += len(messages) - len(shown)
        widgets = [w for w in self._message_widgets() if w.message in members]
        anchor = widgets[-1] if widgets else None
        for message in messages:
            old = next((w for w in widgets if w.message is message), None)
            if old is not None:
                anchor = old
                if isinstance(old, AssistantMessage):
                    old.set_version(self._versions.get(message))
                continue
            new = self._widget_for(message)
            assert new is not None  # a version holds prompts and answers only
            if anchor is None:
                await self.query(EmptyConversation).remove()
                await self.mount(new)
            else:
                await self.mount(new, after=anchor)
            anchor = new
        for widget in widgets:
            if widget.message not in messages:
                await widget.remove()

    def widget_of_message(self, message: Message) -> UserMessage | AssistantMessage | CompareAnswers | None:
        for widget in self._message_widgets():
            if widget.message is message or (isinstance(widget, CompareAnswers) and message in widget.messages):
                return widget
        return None

    # --- versions, traces, finding -----------------------------------------------------------

    def step_version(self, step: int) -> bool:
        """Ask for the version before (-1) or after (1) in the newest exchange on screen that has
        several; False when there is none."""
        for exchange in reversed(self.conversation.exchanges()):
            shown = self.displayed(exchange)
            if len(exchange.versions) > 1 and shown is not None:
                if 0 <= shown + step < len(exchange.versions):
                    self.post_message(self.VersionWanted(exchange, shown + step))
                return True
        return False

    @on(Footnote.Step)
    def _arrow_clicked(self, event: Footnote.Step) -> None:
        for exchange in self.conversation.exchanges():
            index = exchange.index_of(event.answer.message)
            if index is not None and 0 <= index + event.step < len(exchange.versions):
                self.post_message(self.VersionWanted(exchange, index + event.step))

    def unmark(self) -> None:
        """The search's words are no longer highlighted."""
        if self.marked is not None:
            self.marked.mark(())
            self.marked = None

    def toggle_latest_trace(self) -> bool:
        traces = self.query(Trace)
        if not traces:
            return False
        trace = traces.last()
        trace.touched_by_user, trace.collapsed = True, not trace.collapsed
        return True

    def fold_all(self, collapsed: bool) -> None:
        for trace in self.query(Trace):
            trace.touched_by_user, trace.collapsed = True, collapsed

    def toggle_hidden_traces(self) -> bool:
        """Answers only, or traces again; True when they are hidden now."""
        hide = not self.has_class("-hide-traces")
        self.set_class(hide, "-hide-traces")
        return hide

    def show_earlier(self) -> None:
        """Mount the messages above the window, as the marker standing for them does on Enter."""
        markers = self.query_children("HiddenMessages.earlier")
        if markers:
            self.post_message(HiddenMessages.Wanted(markers.first(HiddenMessages)))
        else:
            self.notify("Every message of this conversation is shown already.", timeout=2)

    def reveal(self, message_id: int, *, in_trace: bool = False, words: tuple[str, ...] = ()) -> None:
        """Scroll to a message (a search hit) and mark it for a moment; unfold its trace if the
        hit is there. The search's ``words`` stay highlighted in it until ``unmark``."""
        widget = self.widget_of(message_id)
        if widget is None:
            return
        if in_trace and isinstance(widget, AssistantMessage) and widget.trace is not None:
            widget.trace.touched_by_user, widget.trace.collapsed = True, False
        if words:
            self.unmark()
            widget.mark(words)
            self.marked = widget
        widget.add_class("-found")
        self.set_timer(3, lambda: widget.remove_class("-found"))
        self.call_after_refresh(self.scroll_to_widget, widget, animate=False, top=True)

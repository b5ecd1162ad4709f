"""The scrolling conversation. Only a window of messages is mounted; the others on request."""

from __future__ import annotations

import asyncio

from textual import work
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.widgets import Static

from r1chat.conversation import Conversation, Message, Role
from r1chat.ui.widgets.message import AssistantMessage, UserMessage
from r1chat.ui.widgets.one_pass import OnePass


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


class ConversationView(OnePass, VerticalScroll, can_focus=False):
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

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.collapse = "on-answer"
        self.empty_hint = Content("Type a prompt below and press Enter.")
        self._messages: list[Message] = []
        self._start = self._end = 0  # the mounted window: self._messages[_start:_end]
        self._shown = 0  # conversations shown so far: a fill asked for by an earlier one stops

    def compose(self):
        yield EmptyConversation(self.empty_hint)

    def on_mount(self) -> None:
        # Follow new text while the reader is at the bottom; scrolling up stops it (Textual).
        self.anchor()

    def _widget_for(self, message: Message):
        if message.role is Role.USER:
            return UserMessage(message)
        if message.role is Role.ASSISTANT:
            return AssistantMessage(message, collapse=self.collapse)
        return None

    def _widgets_for(self, messages: list[Message]) -> list:
        return [w for w in map(self._widget_for, messages) if w is not None]

    @property
    def hidden_later(self) -> int:
        return len(self._messages) - self._end

    async def show(self, conversation: Conversation, *, around: int | None = None) -> None:
        """Show ``conversation`` from its end, or around the message with id ``around``."""
        messages = [m for m in conversation.messages if m.role is not Role.SYSTEM]
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
            marker = self.query_children("HiddenMessages.earlier").first()
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
        self.call_after_refresh(lambda: drawn.done() or drawn.set_result(None))
        return drawn

    def widget_of(self, message_id: int) -> UserMessage | AssistantMessage | None:
        for widget in self.query_children(".user-message, .assistant-message"):
            if widget.message.id == message_id:
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

    async def add(self, message: Message) -> UserMessage | AssistantMessage:
        if self.hidden_later:  # a new turn goes at the end: show the end first
            await self.show(Conversation(messages=self._messages))
        widget = self._widget_for(message)
        self._messages.append(message)
        self._end = len(self._messages)
        await self.query(EmptyConversation).remove()
        await self.mount(widget)
        self.anchor()
        return widget

    def latest_assistant(self) -> AssistantMessage | None:
        answers = self.query(AssistantMessage)
        return answers.last() if answers else None

    async def drop_last_turn(self) -> None:
        """Remove the newest prompt and its answer from view (they are edited or regenerated)."""
        children = list(self.query_children(".user-message, .assistant-message"))
        for widget in reversed(children):
            await widget.remove()
            if isinstance(widget, UserMessage):
                break
        last_prompt = max((i for i, m in enumerate(self._messages) if m.role is Role.USER), default=0)
        del self._messages[last_prompt:]
        self._end = min(self._end, len(self._messages))

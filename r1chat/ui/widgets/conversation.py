"""The scrolling conversation. Only the newest messages are mounted; earlier ones on request."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.widgets import Static

from r1chat.conversation import Conversation, Message, Role
from r1chat.ui.widgets.message import AssistantMessage, UserMessage


class EarlierMessages(Static, can_focus=True):
    BINDINGS = [Binding("enter", "show", "Show earlier", id="conversation.earlier")]

    class Wanted(TextualMessage):
        pass

    def __init__(self, count: int) -> None:
        super().__init__(classes="earlier")
        self.set_count(count)

    def set_count(self, count: int) -> None:
        self.count = count
        self.update(Content(f"↑ {count} earlier messages · click or Enter to show them"))

    def action_show(self) -> None:
        self.post_message(self.Wanted())

    def on_click(self) -> None:
        self.post_message(self.Wanted())


class EmptyConversation(Static):
    def __init__(self, hint: Content) -> None:
        super().__init__(hint, classes="empty")


class ConversationView(VerticalScroll, can_focus=False):
    WINDOW = 40

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.collapse = "on-answer"
        self.empty_hint = Content("Type a prompt below and press Enter.")
        self._hidden: list[Message] = []

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

    async def show(self, conversation: Conversation) -> None:
        messages = [m for m in conversation.messages if m.role is not Role.SYSTEM]
        self._hidden = messages[: -self.WINDOW] if len(messages) > self.WINDOW else []
        shown = messages[len(self._hidden):]
        with self.app.batch_update():
            await self.remove_children()
            widgets = [w for w in map(self._widget_for, shown) if w is not None]
            if self._hidden:
                widgets.insert(0, EarlierMessages(len(self._hidden)))
            await self.mount_all(widgets or [EmptyConversation(self.empty_hint)])
        self.scroll_end(animate=False)
        self.anchor()

    async def on_earlier_messages_wanted(self, event: EarlierMessages.Wanted) -> None:
        marker = self.query_one(EarlierMessages)
        batch, self._hidden = self._hidden[-self.WINDOW:], self._hidden[: -self.WINDOW]
        widgets = [w for w in map(self._widget_for, batch) if w is not None]
        await self.mount_all(widgets, after=marker)
        if self._hidden:
            marker.set_count(len(self._hidden))
        else:
            await marker.remove()

    async def add(self, message: Message) -> UserMessage | AssistantMessage:
        widget = self._widget_for(message)
        await self.query(EmptyConversation).remove()
        await self.mount(widget)
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

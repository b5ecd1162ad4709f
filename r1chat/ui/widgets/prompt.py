"""The prompt: a multi-line editor where Enter sends and Ctrl+J starts a new line."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea


class Prompt(TextArea):
    # TextArea handles Enter itself (inserting a newline), so sending needs a priority binding.
    BINDINGS = [
        Binding("enter", "send", "Send", priority=True, show=False, id="send"),
        Binding("ctrl+j,shift+enter", "newline", "Newline", show=False, id="newline"),
        Binding("up", "recall", "Previous prompt", show=False, id="recall"),
    ]

    class Submitted(Message):
        def __init__(self, prompt: Prompt, text: str) -> None:
            super().__init__()
            self.prompt = prompt
            self.text = text

    def __init__(self, **kwargs) -> None:
        super().__init__(
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            highlight_cursor_line=False,
            placeholder="Ask anything · Enter to send · Ctrl+J for a new line",
            **kwargs,
        )
        self.sent: list[str] = []
        self._recalled = 0

    def action_send(self) -> None:
        # A priority binding runs as the key reaches the app, possibly before this widget has
        # handled keys typed just before it (type-ahead, a fast typist, a script): read the text
        # once those queued keys are in.
        self.call_later(self._send)

    def _send(self) -> None:
        text = self.text
        if text.strip():
            self.post_message(self.Submitted(self, text))

    def action_newline(self) -> None:
        self.insert("\n")

    def action_recall(self) -> None:
        """Up in an empty prompt (or one showing a recalled prompt) brings back the one before."""
        if self.text and (not self._recalled or self.text != self.sent[-self._recalled]):
            self.action_cursor_up()
            return
        if self._recalled < len(self.sent):
            self._recalled += 1
            self.load_text(self.sent[-self._recalled])
            self.move_cursor(self.document.end)

    def remember(self, text: str) -> None:
        if not self.sent or self.sent[-1] != text:
            self.sent.append(text)
        self._recalled = 0

"""The prompt: a multi-line editor where Enter sends and Ctrl+J starts a new line."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.strip import Strip
from textual.widgets import TextArea

from r1chat.units import human_size

# A paste longer than this is held aside and shown as one marker line: the editor lays out its
# whole text again on every key, and with a megabyte in it each key would take seconds.
PASTE_INLINE_LIMIT = 8_000


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
        self._held: dict[str, str] = {}  # marker shown -> the long text it stands for

    def render_line(self, y: int) -> Strip:
        # Textual wraps the placeholder to the width inside the box, and Rich cannot fold text to
        # no width at all: a terminal a few columns wide leaves the prompt none.
        if self.content_size.width < 1:
            return Strip.blank(0)
        return super().render_line(y)

    async def _on_key(self, event: events.Key) -> None:
        # A terminal sends alt+t as ESC t, which Textual reads as "alt+t" with the character "t":
        # TextArea would type the t and stop the key. Bound to an action of the screen or the app
        # (a [keys] remapping), the key goes on to it instead; unbound, it types as before.
        if event.key.startswith("alt+") and event.key in self.screen.active_bindings:
            event.prevent_default()  # TextArea's own handler is skipped; the key bubbles to the bindings

    def action_send(self) -> None:
        # A priority binding runs as the key reaches the app, possibly before this widget has
        # handled keys typed just before it (type-ahead, a fast typist, a script): read the text
        # once those queued keys are in.
        self.call_later(self._send)

    def _send(self) -> None:
        text = self.prompt_text
        if text.strip():
            self.post_message(self.Submitted(self, text))

    # --- long text -----------------------------------------------------------------------------

    @property
    def prompt_text(self) -> str:
        """What would be sent: the text with each long paste's marker replaced by the paste."""
        text = self.text
        for marker, held in self._held.items():
            text = text.replace(marker, held)
        return text

    def _hold(self, text: str) -> str:
        lines = text.count("\n") + 1
        size = human_size(len(text.encode()))
        marker = f"[pasted text #{len(self._held) + 1}: {lines:,} line{'s' if lines != 1 else ''}, {size}]"
        self._held[marker] = text
        return marker

    async def _on_paste(self, event: events.Paste) -> None:
        if self.read_only or len(event.text) <= PASTE_INLINE_LIMIT:
            return  # TextArea's own handler, which Textual calls next, inserts it
        event.prevent_default()
        if result := self._replace_via_keyboard(self._hold(event.text), *self.selection):
            self.move_cursor(result.end_location)
            self.focus()

    def set_prompt(self, text: str) -> None:
        """Show ``text`` in the editor, a long one as a marker."""
        self._held.clear()
        self.load_text(text if len(text) <= PASTE_INLINE_LIMIT else self._hold(text))
        self.move_cursor(self.document.end)

    def give_back(self, text: str) -> None:
        """A prompt that could not be sent goes back into the editor, unless the user typed anew."""
        if not self.text.strip():
            self.set_prompt(text)

    def clear(self):
        self._held.clear()
        return super().clear()

    def action_newline(self) -> None:
        self.insert("\n")

    def action_recall(self) -> None:
        """Up in an empty prompt (or one showing a recalled prompt) brings back the one before."""
        if self.text and (not self._recalled or self.prompt_text != self.sent[-self._recalled]):
            self.action_cursor_up()
            return
        if self._recalled < len(self.sent):
            self._recalled += 1
            self.set_prompt(self.sent[-self._recalled])

    def remember(self, text: str) -> None:
        if not self.sent or self.sent[-1] != text:
            self.sent.append(text)
        self._recalled = 0

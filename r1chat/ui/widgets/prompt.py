"""The prompt: a multi-line editor where Enter sends and Ctrl+J starts a new line.

Attached files show as chips (``[app.py · 3.2k tokens]``) where they were added; Backspace after a
chip removes it whole, as it does a long paste's marker. ``@`` typed at the start of a word asks
for the file picker; a pasted path to a file asks whether to attach it."""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.strip import Strip
from textual.widgets import TextArea

from r1chat.attachments import describe, pasted_path
from r1chat.conversation import AttachmentPart
from r1chat.units import human_size

# A paste longer than this is held aside and shown as one marker line: the editor lays out its
# whole text again on every key, and with a megabyte in it each key would take seconds.
PASTE_INLINE_LIMIT = 8_000


def _location(text: str, index: int) -> tuple[int, int]:
    """(row, column) of the character at ``index`` of ``text``."""
    before = text[:index]
    return before.count("\n"), len(before) - (before.rfind("\n") + 1)


class Prompt(TextArea):
    # TextArea handles Enter itself (inserting a newline), so sending needs a priority binding.
    BINDINGS = [
        Binding("enter", "send", "Send", priority=True, show=False, id="send"),
        Binding("ctrl+j,shift+enter", "newline", "Newline", show=False, id="newline"),
        Binding("up", "recall", "Previous prompt", show=False, id="recall"),
    ]

    class Submitted(Message):
        def __init__(self, prompt: Prompt, text: str, attached: list[AttachmentPart] | None = None) -> None:
            super().__init__()
            self.prompt = prompt
            self.text = text
            self.attached = attached or []

    class AttachWanted(Message):
        """``@`` was typed at the start of a word, at ``location``: the file picker is wanted."""

        def __init__(self, prompt: Prompt, location: tuple[int, int] | None) -> None:
            super().__init__()
            self.prompt = prompt
            self.location = location

    class PathPasted(Message):
        """A paste that is the path of a file (a terminal's drop): attach it?"""

        def __init__(self, prompt: Prompt, path: Path, text: str) -> None:
            super().__init__()
            self.prompt = prompt
            self.path = path
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
        self._chips: dict[str, AttachmentPart] = {}  # chip shown -> the attachment it stands for
        self.folder = Path.cwd()  # where pasted relative paths are looked for

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
        elif event.character == "@" and not self.read_only:
            row, column = self.selection.start if self.selection.start <= self.selection.end else self.selection.end
            before = self.document.get_line(row)[:column]
            if not before or before[-1].isspace():  # the start of a word: once TextArea typed it
                self.call_later(self.post_message, self.AttachWanted(self, (row, column)))

    def action_send(self) -> None:
        # A priority binding runs as the key reaches the app, possibly before this widget has
        # handled keys typed just before it (type-ahead, a fast typist, a script): read the text
        # once those queued keys are in.
        self.call_later(self._send)

    def _send(self) -> None:
        text, attached = self.prompt_text, self.attached
        if text.strip() or attached:
            self.post_message(self.Submitted(self, text, attached))

    # --- long text -----------------------------------------------------------------------------

    @property
    def prompt_text(self) -> str:
        """What would be sent: the text with each long paste's marker replaced by the paste, and
        without the chips (their files go after the text)."""
        text = self.text
        for chip in self._chips:
            text = text.replace(chip + " ", "").replace(chip, "")
        if self._chips:
            text = "\n".join(line.rstrip() for line in text.split("\n")).strip()
        for marker, held in self._held.items():
            text = text.replace(marker, held)
        return text

    @property
    def attached(self) -> list[AttachmentPart]:
        """The attachments whose chips are in the text, in the order they show."""
        text = self.text
        present = [(text.find(chip), part) for chip, part in self._chips.items() if chip in text]
        return [part for _, part in sorted(present, key=lambda pair: pair[0])]

    def attach(self, part: AttachmentPart, at: tuple[int, int] | None = None, *, replacing: str = "") -> str:
        """Show ``part`` as a chip: in place of the ``@`` typed at ``at`` (or of the text
        ``replacing`` before the cursor, a pasted path), else at the cursor. Returns the chip."""
        label = describe(part)
        chip = f"[{label}]"
        number = 2
        while chip in self._chips:
            chip, number = f"[{label} #{number}]", number + 1
        self._chips[chip] = part
        if at is not None and self.document.get_text_range(at, (at[0], at[1] + 1)) == "@":
            self.replace(chip + " ", at, (at[0], at[1] + 1))
        elif replacing and (found := self.text.rfind(replacing)) >= 0:
            self.replace(chip + " ", _location(self.text, found), _location(self.text, found + len(replacing)))
        else:
            self.insert(chip + " ")
        self.focus()
        return chip

    def action_delete_left(self) -> None:
        """Backspace after a chip, or a long paste's marker (a space after it allowed), removes it whole."""
        selection = self.selection
        if selection.start == selection.end:
            row, column = selection.end
            before = self.document.get_line(row)[:column]
            for marker in (*self._chips, *self._held):
                for ending in (marker, marker + " "):
                    if before.endswith(ending):
                        self.replace("", (row, column - len(ending)), (row, column))
                        return
        super().action_delete_left()

    def _hold(self, text: str) -> str:
        lines = text.count("\n") + 1
        size = human_size(len(text.encode()))
        marker = f"[pasted text #{len(self._held) + 1}: {lines:,} line{'s' if lines != 1 else ''}, {size}]"
        self._held[marker] = text
        return marker

    async def _on_paste(self, event: events.Paste) -> None:
        if not self.read_only and (path := pasted_path(event.text, self.folder)) is not None:
            self.post_message(self.PathPasted(self, path, event.text))  # inserted as typed, until answered
        if self.read_only or len(event.text) <= PASTE_INLINE_LIMIT:
            return  # TextArea's own handler, which Textual calls next, inserts it
        event.prevent_default()
        if result := self._replace_via_keyboard(self._hold(event.text), *self.selection):
            self.move_cursor(result.end_location)
            self.focus()

    def set_prompt(self, text: str) -> None:
        """Show ``text`` in the editor, a long one as a marker."""
        self._held.clear()
        self._chips.clear()
        self.load_text(text if len(text) <= PASTE_INLINE_LIMIT else self._hold(text))
        self.move_cursor(self.document.end)

    def give_back(self, text: str, attached: list[AttachmentPart] | None = None) -> None:
        """A prompt that could not be sent goes back into the editor (its attachments as chips
        after it), unless the user typed anew."""
        if not self.text.strip():
            self.set_prompt(text)
            if attached:
                self.move_cursor(self.document.end)
                if text and not text.endswith((" ", "\n")):
                    self.insert(" ")
                for part in attached:
                    self.attach(part)

    def clear(self):
        self._held.clear()
        self._chips.clear()
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

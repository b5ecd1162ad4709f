"""The question asked before something that cannot be undone."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static


class Confirm(ModalScreen[bool]):
    """A question in a red frame, answered True by y or the red button, False by n, Esc or the other.

    The other button has the focus, so Enter on its own never says yes. Each question binds its
    keys to ``answer`` under binding ids of its own, the ids a user remaps in keys.toml; the footer
    shows the keys as they are.
    """

    # A path of its own: a relative one is read beside each subclass's module (the screens').
    CSS_PATH = Path(__file__).with_name("confirm.tcss")
    AUTO_FOCUS = "#no"

    def __init__(self, question: Content, *details: Content, yes: str, no: str) -> None:
        super().__init__()
        self.question = question
        self.details = details
        self.yes, self.no = yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question, id="question")
            for detail in self.details:
                yield Static(detail, classes="detail")
            with Horizontal(id="buttons"):
                yield Button(self.yes, variant="error", id="yes")
                yield Button(self.no, id="no")
        yield Footer()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

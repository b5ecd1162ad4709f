"""The footer: Textual's, with the help key always in sight."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # not exported; the class of each key shown


class KeysFooter(Footer):
    """The help key docks at the left (app.tcss): Textual lists the app's keys after the
    screen's, so at 80 columns "f1 Help" was the first key cut off, and with it the way to
    find every other key. Compact (one space less per key): at 80 columns ctrl+q Quit fits too."""

    def __init__(self) -> None:
        super().__init__(compact=True)

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.action == "help":
                widget.add_class("-help")
            yield widget

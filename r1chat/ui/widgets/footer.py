"""The footer: Textual's, with the help key always in sight."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # not exported; the class of each key shown

# The app's own F1, repeated on dialogs: a modal screen leaves the app's bindings out of reach
# (and out of the footer), so without it F1 did nothing in Settings or Pull. Same id: one
# remapping of ``help`` moves both.
HELP = Binding("f1", "app.help", "Help", id="help")


class KeysFooter(Footer):
    """The help key docks at the left (app.tcss): Textual lists the app's keys after the
    screen's, so at 80 columns "f1 Help" was the first key cut off, and with it the way to
    find every other key. Compact (one space less per key): at 80 columns ctrl+q Quit fits too."""

    def __init__(self) -> None:
        super().__init__(compact=True)

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.action in ("help", "app.help"):
                widget.add_class("-help")
            yield widget

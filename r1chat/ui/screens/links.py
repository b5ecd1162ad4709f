"""Open a link from an answer: only on request, and only web links."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from r1chat.markdown_parts import is_web_link
from r1chat.sanitize import strip_controls


class LinkPicker(ModalScreen[str | None]):
    """Lists the links of an answer; Enter opens a web link. Dismisses with the chosen URL."""

    CSS_PATH = "links.tcss"
    AUTO_FOCUS = "OptionList"
    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="links.close")]

    def __init__(self, links: list[tuple[str, str]]) -> None:
        super().__init__()
        self.links = links

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Content.styled("Links in the last answer", "bold"))
            options = []
            for number, (text, href) in enumerate(self.links):
                label = Content.assemble(strip_controls(text), "\n", (strip_controls(href), "$foreground-muted"))
                if not is_web_link(href):
                    label = Content.assemble(label, (" (not a web link: not opened)", "$warning"))
                options.append(Option(label, id=str(number), disabled=not is_web_link(href)))
            yield OptionList(*options)
            yield Label(Content.styled("Enter opens in your browser · Esc closes", "$foreground-muted"))

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.links[event.option_index][1])

"""Change host or provider: where the next turn goes."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from r1chat.sanitize import strip_controls
from r1chat.session import ChatSession


class ConnectScreen(ModalScreen[tuple[str, str] | None]):
    """Pick a provider and its host or base URL. Dismisses with (provider name, url)."""

    CSS_PATH = "connect.tcss"
    AUTO_FOCUS = "#url"
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="connect.cancel")]

    def __init__(self, session: ChatSession) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        settings, current = self.session.settings, self.session.provider
        with Vertical(id="dialog"):
            yield Label(Content.styled("Connect", "bold"), id="title")
            yield Label(Content(f"Now: {current.name} at {strip_controls(self.session.backend.url)}"), id="now")
            yield Label("Provider")
            options = [
                Option(Content(f"{name}  ({provider.kind})"), id=name) for name, provider in settings.providers.items()
            ]
            yield OptionList(*options, id="providers")
            yield Label("Host or base URL (empty: the provider's own)")
            yield Input(value=current.url or "", placeholder="http://127.0.0.1:11434", id="url")
            with Horizontal(id="buttons"):
                yield Button("Connect", variant="primary", id="connect")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        providers = self.query_one(OptionList)
        names = list(self.session.settings.providers)
        providers.highlighted = names.index(self.session.provider.name) if self.session.provider.name in names else 0

    @on(OptionList.OptionHighlighted)
    def _provider_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        provider = self.session.settings.providers[event.option.id]
        self.query_one("#url", Input).value = provider.url or ""

    @on(Input.Submitted)
    @on(Button.Pressed, "#connect")
    def _connect(self) -> None:
        option = self.query_one(OptionList).highlighted_option
        name = option.id if option is not None else self.session.provider.name
        self.dismiss((name, self.query_one("#url", Input).value.strip()))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

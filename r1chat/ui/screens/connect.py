"""Change host or provider: where the next turn goes."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from r1chat.sanitize import strip_controls
from r1chat.session import ChatSession, MissingSetting


class ConnectScreen(ModalScreen[bool]):
    """Pick a provider and its host or base URL; the session talks to it from the next turn on.
    Dismisses with whether it switched; a provider that cannot be used says why here."""

    CSS_PATH = "connect.tcss"
    AUTO_FOCUS = "#url"
    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel", id="connect.cancel")]

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
            yield Static(id="problem", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Connect", variant="primary", id="connect")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        providers = self.query_one(OptionList)
        names = list(self.session.settings.providers)
        providers.highlighted = names.index(self.session.provider.name) if self.session.provider.name in names else 0

    @on(OptionList.OptionHighlighted)
    def _provider_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            provider = self.session.settings.providers[event.option.id]
            self.query_one("#url", Input).value = provider.url or ""

    @on(Input.Submitted)
    @on(Button.Pressed, "#connect")
    async def _connect(self) -> None:
        option = self.query_one(OptionList).highlighted_option
        provider = self.session.settings.provider_config(option.id if option is not None else self.session.provider.name)
        provider.url = self.query_one("#url", Input).value.strip() or provider.url
        try:
            await self.session.switch_provider(provider)
        except MissingSetting as error:
            problem = self.query_one("#problem", Static)
            problem.update(Content(str(error)))
            problem.display = True
            return
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

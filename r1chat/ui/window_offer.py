"""The question asked when a conversation does not fit its context window: before sending, or
when Ollama refused a request for it. Three ways on, each on a key; Esc keeps the prompt."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from r1chat.window import Fit

# What the dialog returns: the way chosen, or None (Esc: nothing sent, the prompt kept).
SEND, RAISE, NEW = "send", "raise", "new"


class WindowOffer(ModalScreen[str | None]):
    """``Fit`` says how far over the window the conversation is; ``refused``: the server said so
    (the prompt is stored then, and "send anyway" answers it again letting the server cut)."""

    CSS_PATH = Path(__file__).with_name("window_offer.tcss")
    AUTO_FOCUS = "#send"
    BINDINGS = [
        Binding("s", "choose('send')", "Send anyway", id="window_offer.send"),
        Binding("r", "choose('raise')", "Raise num_ctx", id="window_offer.raise"),
        Binding("n", "choose('new')", "New chat", id="window_offer.new"),
        Binding("escape", "choose(None)", "Back", id="window_offer.back"),
    ]

    def __init__(self, fit: Fit, *, refused: bool = False) -> None:
        super().__init__()
        self.fit = fit
        self.refused = refused

    def compose(self) -> ComposeResult:
        fit, larger = self.fit, self.fit.larger_window
        if self.refused:
            question = "The server refused this conversation: it does not fit the context window."
        else:
            question = "This conversation and your prompt do not fit the context window."
        send = "The server drops the oldest messages to make room; the answer will not see them."
        grow = (f"Send it with num_ctx {larger:,} from now on in this conversation (more memory, slower)."
                if larger else "The model takes no larger window.")
        with Vertical(id="dialog"):
            yield Static(Content.styled(question, "bold"), id="question")
            yield Static(Content.styled(f"The estimate: {fit.describe()}.", "$foreground-muted"), classes="detail")
            yield Static(Content.assemble(("s ", "bold"), send), classes="detail way")
            yield Static(Content.assemble(("r ", "bold"), grow), classes="way")
            yield Static(Content.assemble(("n ", "bold"), "Start a new conversation, its prompt box holding a "
                                          "line about this one and your prompt."), classes="way")
            with Horizontal(id="buttons"):
                yield Button("Send anyway", id="send")
                yield Button("Raise num_ctx", id="raise", disabled=larger is None)
                yield Button("New chat", id="new")
        yield Footer()

    def action_choose(self, way: str | None) -> None:
        if way == RAISE and self.fit.larger_window is None:
            self.notify("The model takes no larger window.", timeout=2)
            return
        self.dismiss(way)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_choose(event.button.id)

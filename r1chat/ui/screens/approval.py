"""The question asked before a tool runs: which tool, on which server, with which arguments.

Nothing runs without an answer: allow once, always (this tool, in this conversation), or deny
(the model is told). Esc denies; a second Esc while the turn still runs stops it (the chat
screen's Esc, or this question's when the model asks again in the same turn).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from r1chat.sanitize import strip_controls, to_json
from r1chat.tools import ApprovalRequest, Verdict

# Arguments longer than this show their start and how much more there is: laying out a
# megabyte the model put in an argument is not worth a frozen screen (the tool gets them whole).
SHOWN_ARGUMENTS = 20_000
ARGUMENT_LINES = 24  # the most lines of arguments in sight at once; the rest scroll


def shown_arguments(arguments: dict) -> Content:
    """The arguments as indented JSON: control characters escaped, markup literal."""
    text = to_json(arguments, indent=2) if arguments else "{}"
    if len(text) > SHOWN_ARGUMENTS:
        rest = text[SHOWN_ARGUMENTS:]
        return Content.assemble(
            text[:SHOWN_ARGUMENTS],
            (f"\n… {len(rest):,} more characters (the tool gets them all)", "$foreground-muted italic"),
        )
    return Content(text)


class ApprovalScreen(ModalScreen[Verdict]):
    """``escape_stops``: the last call of this turn was denied with Esc, so Esc now stops the turn."""

    CSS_PATH = "approval.tcss"
    # The arguments have the focus: arrows and page keys scroll them, and an Enter typed for the
    # prompt just as the question opens answers nothing.
    AUTO_FOCUS = "#arguments"
    BINDINGS = [
        Binding("y", "verdict('once')", "Allow once", id="approval.once"),
        Binding("a", "verdict('always')", "Always in this chat", id="approval.always"),
        Binding("n", "verdict('deny')", "Deny", id="approval.deny"),
        Binding("escape", "escape", "Deny (Esc again: stop)", id="approval.escape"),
    ]

    def __init__(self, request: ApprovalRequest, *, escape_stops: bool = False) -> None:
        super().__init__()
        self.request = request
        self.escape_stops = escape_stops
        self.escaped = False  # answered with Esc

    def compose(self) -> ComposeResult:
        request = self.request
        server, tool = strip_controls(request.server), strip_controls(request.tool)
        with Vertical(id="dialog"):
            yield Static(Content.assemble(("Allow a tool call? ", "bold"), ("⚙ ", ""), (f"{server}.{tool}", "bold")),
                         id="question")
            yield Static(Content.assemble("The model asks to run the tool ", (tool, "bold"), " of the MCP server ",
                                          (server, "bold"), " with these arguments:"), classes="detail")
            with VerticalScroll(id="arguments"):
                yield Static(shown_arguments(request.arguments), id="arguments-text")
            if self.escape_stops:
                escape = "Esc stops the turn (the last call was denied with Esc)."
            else:
                escape = "Esc denies it; Esc again stops the turn."
            yield Static(Content.styled(
                f"{escape} trust = \"always\" under [mcp.servers.{server}] in config.toml skips this question.",
                "$foreground-muted"), id="note")
            with Horizontal(id="buttons"):
                yield Button("Allow once", id="once", variant="primary")
                yield Button("Always in this chat", id="always")
                yield Button("Deny", id="deny", variant="error")
        yield Footer()

    def on_resize(self) -> None:
        # The arguments take what the question, the note and the buttons leave of the screen (at
        # 24 lines, 8): however long they are, the buttons stay in sight.
        self.query_one("#arguments").styles.max_height = max(3, min(ARGUMENT_LINES, self.size.height - 16))

    def action_verdict(self, verdict: str) -> None:
        self.dismiss(Verdict(verdict))

    def action_escape(self) -> None:
        self.escaped = True
        self.dismiss(Verdict.STOP if self.escape_stops else Verdict.DENY)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(Verdict(event.button.id or Verdict.DENY))

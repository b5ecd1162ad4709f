"""This conversation's own model, temperature, top p, context window and system prompt.

They are stored with the conversation (``Conversation.settings`` and its model), so reopening it
from the history brings them back; an empty field means the default from Settings.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static, TextArea

from r1chat.sanitize import strip_controls
from r1chat.session import ChatSession
from r1chat.setting_input import BadInput, parse, show
from r1chat.store import StoreError
from r1chat.ui.widgets.footer import HELP, KeysFooter

OVERRIDES = ("temperature", "top_p", "num_ctx", "system_prompt")


class ConversationSettingsScreen(ModalScreen[str | None]):
    CSS_PATH = "settings.tcss"
    AUTO_FOCUS = "#model"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True, id="conversation_settings.save"),
        Binding("escape", "dismiss(None)", "Cancel", id="conversation_settings.cancel"),
        HELP,
    ]

    def __init__(self, session: ChatSession) -> None:
        super().__init__()
        self.session = session

    def _model_now(self) -> str:
        session, conversation = self.session, self.session.conversation
        mine = conversation.model if conversation.provider == session.provider.name else None
        return session.chosen_model or mine or session.model or ""

    def compose(self) -> ComposeResult:
        session, local = self.session, self.session.conversation.settings
        settings = session.settings
        title = strip_controls(session.conversation.title) or "this new conversation"
        defaults = {
            "temperature": show(settings.temperature) or "0.6 for R1 models, else the server's",
            "top_p": show(settings.top_p) or "0.95 for R1 models, else the server's",
            "num_ctx": show(settings.num_ctx),
            "system_prompt": "none" if not settings.system_prompt else "the one in Settings",
        }
        with Vertical(id="dialog", classes="small"):
            yield Label(Content.assemble(("Conversation settings", "bold"), "  ", (title, "$foreground-muted")), id="title")
            yield Static(Content("Stored with this conversation. An empty field uses the default (ctrl+s in the chat "
                                 "opens Settings)."), classes="hint")
            yield self._row("Model", Input(self._model_now(), placeholder=f"on {session.provider.name}", compact=True,
                                           id="model"))
            yield self._row("Temperature", Input(show(local.get("temperature")), compact=True, id="temperature",
                                                 placeholder=f"default: {defaults['temperature']}"))
            yield self._row("Top p", Input(show(local.get("top_p")), compact=True, id="top_p",
                                           placeholder=f"default: {defaults['top_p']}"))
            yield self._row("Context (num_ctx)", Input(show(local.get("num_ctx")), compact=True, id="num_ctx",
                                                       placeholder=f"default: {defaults['num_ctx']} tokens"))
            yield Label(f"System prompt (default: {defaults['system_prompt']})", classes="label-above")
            yield TextArea(local.get("system_prompt", ""), compact=True, soft_wrap=True, tab_behavior="focus",
                           id="system_prompt")
            with Horizontal(id="buttons"):
                yield Button("Save", variant="primary", compact=True, id="save")
                yield Button("Cancel", compact=True, id="cancel")
            yield Static(id="error")
        yield KeysFooter()

    def _row(self, label: str, widget: Widget) -> Horizontal:
        return Horizontal(Label(label, classes="label"), widget, classes="row")

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss()

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self._save()

    @on(Input.Changed)
    @on(TextArea.Changed)
    def _edited(self, event) -> None:
        event.control.remove_class("-invalid")

    def _read(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in OVERRIDES:
            widget = self.query_one(f"#{name}")
            text = widget.text if isinstance(widget, TextArea) else widget.value  # type: ignore[attr-defined]  # an Input
            try:
                values[name] = parse(name, text)
            except BadInput as error:
                widget.add_class("-invalid")
                widget.focus()
                error_line = self.query_one("#error", Static)
                error_line.update(Content(str(error)))
                error_line.display = True
                error_line.add_class("-problem")
                raise
        return values

    def action_save(self) -> None:
        # After the next refresh: keys still queued for a field land before it is read.
        self.call_after_refresh(self._save)

    def _save(self) -> None:
        try:
            values = self._read()
        except BadInput:
            return
        session, conversation = self.session, self.session.conversation
        kept = {key: value for key, value in conversation.settings.items() if key not in OVERRIDES}
        conversation.settings = {**kept, **{key: value for key, value in values.items() if value is not None}}
        model = self.query_one("#model", Input).value.strip()
        said = "Saved with this conversation" if conversation.id is not None else \
            "Used from the first answer on, and saved with the conversation then"
        switched = bool(model) and model != self._model_now()
        if switched:
            session.use_model(model)
            conversation.provider, conversation.model = session.provider.name, model
        if conversation.id is not None:
            try:
                session.store.update_conversation(conversation)
            except StoreError as error:
                said = f"Used in this window, but not saved: {error}"
        self.dismiss(model if switched else None)  # the model now in use, for the status bar
        self.app.notify(said, timeout=4, markup=False)

"""Settings: providers and keys, model options, traces, theme; saved to config.toml on ctrl+s.

The form shows what a fresh start would use (file, then environment), and saving writes only
the fields that were changed, so a value the environment or the command line decides is never
copied into the file by accident. API keys are never shown: a key field is always empty and
says where the key in use comes from, masked; typing replaces it, Forget removes the saved one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from r1chat.config import (
    DEEPSEEK_MODEL,
    KINDS,
    NEW_PROVIDER_KIND,
    ProviderConfig,
    Settings,
    config_path,
    default_providers,
    load_settings,
    mask_key,
)
from r1chat.config_write import (
    ConfigWriteError,
    Key,
    apply_saved,
    broken_reason,
    provider_table,
    save_changes,
    url_key,
)
from r1chat.sanitize import strip_controls
from r1chat.session import ChatSession, MissingSetting
from r1chat.setting_input import BadInput, parse, provider_name, show
from r1chat.ui.confirm import Confirm
from r1chat.ui.widgets.footer import HELP, KeysFooter

COLLAPSE = [("fold when the answer starts", "on-answer"), ("always folded", "always"), ("never folded", "never")]
LAYOUT = [("beside the answer on wide terminals", "auto"), ("above the answer", "inline"), ("beside the answer", "side")]
LOOPS = [("say so, offer to stop it", "warn"), ("stop it", "stop"), ("let it run", "off")]
TITLES = [("the first prompt's opening words", "prompt"), ("a few words the model writes", "model")]
# Each says what the choice shown does, so it changes with the choice.
TITLE_NOTES = {
    "prompt": "your first prompt's start; no request to the model",
    "model": "the model is asked after its first answer, thinking off",
}


def _shown(path: Path) -> str:
    """A path as a person would type it: ~ for the home folder."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)


@dataclass
class ProviderForm:
    """One provider's section of the form; ``index`` makes widget ids whatever the name."""

    name: str
    kind: str
    index: int
    url_key: str
    saved_key: bool  # config.toml holds an api_key for it
    new: bool = False
    forget_key: bool = False
    removed: bool = False
    initial: dict[str, Any] = field(default_factory=dict)

    def id(self, what: str) -> str:
        return f"p{self.index}-{what}"


class ConfirmReplace(Confirm):
    """config.toml is not TOML: replacing it needs a yes, and the old file is kept beside it."""

    BINDINGS = [
        Binding("y", "answer(True)", "Replace", id="confirm_replace.yes"),
        Binding("n,escape", "answer(False)", "Keep it", id="confirm_replace.no"),
    ]

    def __init__(self, reason: str) -> None:
        super().__init__(
            Content.styled("The config file cannot be read", "bold"),
            Content(reason),
            Content("Replace it with these settings? The broken file is kept beside it as "
                    "config.toml.broken, so you can copy back what you need."),
            yes="Replace", no="Keep it",
        )


@dataclass(frozen=True, slots=True)
class Saved:
    """What the settings screen returns once it saved: the keys it changed, and whether the
    session now talks to its provider anew (a new host or key)."""

    changed: set[Key]
    reconnected: bool


class SettingsScreen(ModalScreen["Saved | None"]):
    CSS_PATH = "settings.tcss"
    AUTO_FOCUS = "#provider"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True, id="settings.save"),
        Binding("escape", "cancel", "Cancel", id="settings.cancel"),
        HELP,
    ]

    def __init__(self, session: ChatSession) -> None:
        super().__init__()
        self.session = session
        self.path = session.settings.path or config_path()
        # What a fresh start would use: the file, then the environment (not --host, not F4).
        self.fresh = load_settings(path=self.path)
        self.providers = [self._provider_form(index, p) for index, p in enumerate(self.fresh.providers.values())]
        self.initial: dict[Key, Any] = self._initial()
        self.theme_before = ""
        self.cancel_armed = False

    def _provider_form(self, index: int, provider: ProviderConfig, *, new: bool = False) -> ProviderForm:
        table = {} if new else provider_table(self.path, provider.name)
        form = ProviderForm(provider.name, provider.kind, index, url_key(provider, table), "api_key" in table, new=new)
        form.initial = {"url": None if new else provider.url, "model": None if new else provider.model}
        return form

    def _initial(self) -> dict[Key, Any]:
        fresh = self.fresh
        values: dict[Key, Any] = {
            ("provider",): fresh.provider,
            ("model",): fresh.model,
            ("num_ctx",): fresh.num_ctx,
            ("keep_alive",): fresh.keep_alive,
            ("temperature",): fresh.temperature,
            ("top_p",): fresh.top_p,
            ("system_prompt",): fresh.system_prompt or None,
            ("ui", "theme"): fresh.ui.theme,
            ("ui", "trace_collapse"): fresh.ui.trace_collapse,
            ("ui", "trace_layout"): fresh.ui.trace_layout,
            ("ui", "loop_guard"): fresh.ui.loop_guard,
            ("ui", "titles"): fresh.ui.titles,
        }
        for form in self.providers:
            values["providers", form.name, form.url_key] = form.initial["url"]
            values["providers", form.name, "model"] = form.initial["model"]
        return values

    # --- the form ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        fresh, initial = self.fresh, self.initial
        with Vertical(id="dialog"):
            yield Label(Content.assemble(("Settings", "bold"), "  ", (_shown(self.path), "$foreground-muted")), id="title")
            with VerticalScroll(id="form"):
                yield Label("Start with", classes="section")
                yield self._row("Provider", Select(self._provider_choices(), value=fresh.provider, allow_blank=False,
                                                   compact=True, id="provider"), held=("provider",))
                yield self._row("Model", Input(show(initial["model",]), placeholder="the provider's own, or the best local one",
                                               compact=True, id="model"), held=("model",))
                yield Label("Model options", classes="section")
                yield self._row("Context (num_ctx)", Input(show(initial["num_ctx",]), placeholder="8192 tokens",
                                                           compact=True, id="num_ctx"), held=("num_ctx",),
                                note="Ollama only; its own default cuts long reasoning short")
                yield self._row("Keep alive", Input(show(initial["keep_alive",]), placeholder="10m",
                                                    compact=True, id="keep_alive"), note="Ollama only: 10m, 1h, -1 forever")
                yield self._row("Temperature", Input(show(initial["temperature",]),
                                                     placeholder="0.6 for R1 models, else the server's",
                                                     compact=True, id="temperature"))
                yield self._row("Top p", Input(show(initial["top_p",]), placeholder="0.95 for R1 models, else the server's",
                                               compact=True, id="top_p"))
                yield Label("System prompt (empty is best for R1, as its model card advises)", classes="label-above")
                yield TextArea(fresh.system_prompt, compact=True, soft_wrap=True, tab_behavior="focus", id="system_prompt")
                yield Label("Traces and look", classes="section")
                yield self._row("Traces", Select(COLLAPSE, value=fresh.ui.trace_collapse, allow_blank=False,
                                                 compact=True, id="trace_collapse"))
                yield self._row("Trace layout", Select(LAYOUT, value=fresh.ui.trace_layout, allow_blank=False,
                                                       compact=True, id="trace_layout"))
                yield self._row("Looping answers", Select(LOOPS, value=fresh.ui.loop_guard, allow_blank=False,
                                                          compact=True, id="loop_guard"))
                yield self._row("Titles", Select(TITLES, value=fresh.ui.titles, allow_blank=False, compact=True,
                                                 id="titles"), note=TITLE_NOTES.get(fresh.ui.titles, " "), note_id="titles-note")
                yield self._row("Theme", Select(self._theme_choices(), value=self._theme_value(), allow_blank=False,
                                                compact=True, id="theme"), note="shown as you choose")
                yield Label("Providers", classes="section")
                for form in self.providers:
                    yield self._provider_section(form)
                with Vertical(id="add-provider"):
                    yield Label("Add an OpenAI-compatible provider (OpenRouter, vLLM, LM Studio, ...)", classes="label-above")
                    with Horizontal(classes="row"):
                        yield Input(placeholder="name, like openrouter", compact=True, id="new-name")
                        yield Input(placeholder="base URL, like https://openrouter.ai/api/v1", compact=True, id="new-url")
                        yield Button("Add", compact=True, id="add")
            yield Static(id="error")
        yield KeysFooter()

    def _row(
        self, label: str, widget: Widget, *, held: Key | None = None, note: str = "", note_id: str | None = None
    ) -> Vertical:
        variable = self.fresh.from_environment.get(held) if held else None
        if variable:
            note = f"${variable} is set and wins over this"
        children: list[Widget] = [Horizontal(Label(label, classes="label"), widget, classes="row")]
        if note:
            children.append(Static(Content(note), classes="note" + (" -held" if variable else ""), id=note_id))
        return Vertical(*children, classes="field")

    def _provider_choices(self) -> list[tuple[str, str]]:
        return [(form.name, form.name) for form in self.providers if not form.removed]

    def _theme_choices(self) -> list[tuple[str, str]]:
        return [(name, name) for name in sorted(self.app.available_themes)]

    def _theme_value(self) -> str:
        # The theme on screen, even if the file says another (it could not be saved, say):
        # the choice shows what is used, and saving writes it.
        return self.app.theme

    def _provider_section(self, form: ProviderForm) -> Vertical:
        fresh = self.fresh.providers.get(form.name)
        kind = KINDS[form.kind]
        rows: list[Widget] = [
            Label(Content.assemble((form.name, "bold"), "  ", (kind.label, "$foreground-muted")), classes="provider-name"),
            self._row(kind.url_label,
                      Input(show(form.initial["url"]), placeholder=kind.url_placeholder, compact=True, id=form.id("url")),
                      held=("providers", form.name, "url"), note=self._live_note(form)),
            self._row("Model", Input(show(form.initial["model"]), compact=True, id=form.id("model"),
                                     placeholder=DEEPSEEK_MODEL if form.name == "deepseek" else "picked with ctrl+o")),
        ]
        if kind.takes_key:
            key = Input(password=True, compact=True, id=form.id("key"), placeholder=self._key_status(form, fresh))
            buttons = [Button("Forget", compact=True, id=form.id("forget"), classes="forget")] if form.saved_key else []
            rows.append(Vertical(Horizontal(Label("API key", classes="label"), key, *buttons, classes="row"),
                                 Static(Content(self._key_note(form, fresh)), classes="note", id=form.id("key-note")),
                                 classes="field"))
        if form.name not in default_providers():
            rows.append(Horizontal(Button("Remove this provider", compact=True, id=form.id("remove"), classes="remove"),
                                   classes="row"))
        return Vertical(*rows, classes="provider", id=form.id("section"))

    def _live_note(self, form: ProviderForm) -> str:
        live = self.session.settings.providers.get(form.name)
        if live is not None and live.url != form.initial["url"] and not form.new:
            return f"in use until r1chat restarts: {strip_controls(live.url or '')}"
        return ""

    def _key_status(self, form: ProviderForm, provider: ProviderConfig | None) -> str:
        if form.forget_key:
            return "the saved key is removed when you save"
        variable = self.fresh.from_environment.get(("providers", form.name, "api_key"))
        if variable and provider is not None:
            return f"{mask_key(provider.api_key)} from ${variable}"
        if form.saved_key and provider is not None:
            return f"{mask_key(provider.api_key)} saved · type a new one to replace it"
        return "none · paste one here"

    def _key_note(self, form: ProviderForm, provider: ProviderConfig | None) -> str:
        variable = self.fresh.from_environment.get(("providers", form.name, "api_key"))
        where = "stored only in config.toml, readable by you alone (0600)"
        if variable:
            return f"${variable} wins over a key saved here · {where}"
        env = provider.api_key_env if provider is not None else None
        return f"or set ${env} · {where}" if env else where

    # --- reacting ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.theme_before = self.app.theme
        form = self.query_one("#form", VerticalScroll)
        self.watch(form, "scroll_y", self._show_more, init=False)
        self.watch(form, "virtual_size", self._show_more, init=False)
        self.call_after_refresh(self._show_more)

    def on_resize(self) -> None:
        self.call_after_refresh(self._show_more)

    def _show_more(self, *_: object) -> None:
        """Say so when the form goes on below the dialog (a short terminal): the thin scroll bar
        alone is easy to miss."""
        form = self.query_one("#form", VerticalScroll)
        bottom = form.scroll_y + form.scrollable_content_region.height
        below = [str(section.render()).strip() for section in form.query(".section") if section.virtual_region.y >= bottom]
        # On the dialog's bottom edge, so it takes no line from the form.
        dialog = self.query_one("#dialog")
        if form.scroll_y < form.max_scroll_y:
            where = f": {', '.join(below)}" if below else ""
            dialog.border_subtitle = f"↓ more below{where} · Tab or the mouse wheel scrolls"
        else:
            dialog.border_subtitle = ""

    @on(Select.Changed, "#titles")
    def _titles_changed(self, event: Select.Changed) -> None:
        self.query_one("#titles-note", Static).update(Content(TITLE_NOTES.get(str(event.value), "")))

    @on(Select.Changed, "#theme")
    def _preview_theme(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.app.theme:
            self.app.theme = event.value

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Select.Changed)
    def _edited(self, event) -> None:
        self.cancel_armed = False
        widget = event.control
        if widget.has_class("-invalid"):
            widget.remove_class("-invalid")
            self._say("")

    @on(Button.Pressed, ".forget")
    def _forget(self, event: Button.Pressed) -> None:
        form = self._form_of(event.button.id)
        form.forget_key = not form.forget_key
        event.button.label = "Keep" if form.forget_key else "Forget"
        self.query_one(f"#{form.id('key')}", Input).placeholder = self._key_status(form, self.fresh.providers.get(form.name))
        self.cancel_armed = False

    @on(Button.Pressed, "#add")
    @on(Input.Submitted, "#new-name, #new-url")
    async def _add_provider(self) -> None:
        name_input, url_input = self.query_one("#new-name", Input), self.query_one("#new-url", Input)
        try:
            name = provider_name(name_input.value, {f.name for f in self.providers if not f.removed})
        except BadInput as error:
            self._invalid(name_input, str(error))
            return
        try:
            url = parse("url", url_input.value)
        except BadInput as error:
            self._invalid(url_input, str(error))
            return
        if url is None:
            self._invalid(url_input, "Base URL: a new provider needs one, like https://openrouter.ai/api/v1")
            return
        form = self._provider_form(len(self.providers), ProviderConfig(name, kind=NEW_PROVIDER_KIND), new=True)
        self.providers.append(form)
        section = self._provider_section(form)
        await self.query_one("#form", VerticalScroll).mount(section, before="#add-provider")
        self.query_one(f"#{form.id('url')}", Input).value = url
        name_input.value = url_input.value = ""
        self._refresh_provider_choices()
        self.query_one(f"#{form.id('key')}", Input).focus()
        self._say(f"Added {name}: paste its API key, then ctrl+s saves.", problem=False)

    @on(Button.Pressed, ".remove")
    async def _remove_provider(self, event: Button.Pressed) -> None:
        form = self._form_of(event.button.id)
        if self.query_one("#provider", Select).value == form.name:
            self._say(f"{form.name} is the provider r1chat starts with: pick another one first.")
            return
        form.removed = True
        await self.query_one(f"#{form.id('section')}").remove()
        self._refresh_provider_choices()
        self._say(f"{form.name} goes when you save (ctrl+s).", problem=False)

    def _refresh_provider_choices(self) -> None:
        select = self.query_one("#provider", Select)
        value = select.value
        select.set_options(self._provider_choices())
        select.value = value

    def _form_of(self, widget_id: str | None) -> ProviderForm:
        index = int((widget_id or "p0").split("-")[0][1:])
        return self.providers[index]

    def _say(self, text: str, *, problem: bool = True) -> None:
        error = self.query_one("#error", Static)
        error.update(Content(text))
        error.set_class(problem, "-problem")
        error.display = bool(text)

    def _invalid(self, widget: Widget, text: str) -> None:
        widget.add_class("-invalid")
        widget.focus()
        self._say(text)

    # --- reading the form --------------------------------------------------------------------

    def read_form(self, *, quiet: bool = False) -> dict[Key, Any]:
        """Every field's value, keyed like the file; raises BadInput (after marking the bad field)."""
        values: dict[Key, Any] = {}

        def invalid(widget: Widget, text: str) -> None:
            if not quiet:
                self._invalid(widget, text)
            raise BadInput(text)

        def read(key: Key, widget_id: str, name: str) -> None:
            widget = self.query_one(f"#{widget_id}")
            text = widget.text if isinstance(widget, TextArea) else widget.value  # type: ignore[attr-defined]  # an Input
            try:
                values[key] = parse(name, text)
            except BadInput as error:
                invalid(widget, str(error))

        values["provider",] = self.query_one("#provider", Select).value
        read(("model",), "model", "model")
        for name in ("num_ctx", "keep_alive", "temperature", "top_p", "system_prompt"):
            read((name,), name, name)
        for name in ("theme", "trace_collapse", "trace_layout", "loop_guard", "titles"):
            values["ui", name] = self.query_one(f"#{name}", Select).value
        for form in self.providers:
            if form.removed:
                continue
            read(("providers", form.name, form.url_key), form.id("url"), "url")
            read(("providers", form.name, "model"), form.id("model"), "model")
            if KINDS[form.kind].takes_key:
                typed = self.query_one(f"#{form.id('key')}", Input).value.strip()
                if typed:
                    values["providers", form.name, "api_key"] = typed
            if form.new:
                values["providers", form.name, "kind"] = NEW_PROVIDER_KIND
                if values["providers", form.name, form.url_key] is None:
                    invalid(self.query_one(f"#{form.id('url')}"), f"Base URL: {form.name} needs one")
        return values

    def _defaults(self) -> dict[Key, Any]:
        """What an empty field stands for: r1chat's own default, or a preset provider's."""
        base = Settings()
        defaults: dict[Key, Any] = {("num_ctx",): base.num_ctx, ("keep_alive",): base.keep_alive}
        for form in self.providers:
            if (preset := default_providers().get(form.name)) is not None:
                defaults["providers", form.name, form.url_key] = preset.url
                defaults["providers", form.name, "model"] = preset.model
        return defaults

    def changes(self, *, quiet: bool = False) -> dict[Key, Any]:
        """What saving would write: the fields that differ from what the form started with.

        A field set to its default removes the key from the file rather than writing the default
        down, so that a later r1chat with a better default gives it.
        """
        defaults = self._defaults()
        changes: dict[Key, Any] = {}
        for key, value in self.read_form(quiet=quiet).items():
            value = defaults.get(key) if value is None else value
            if value != self.initial.get(key):
                changes[key] = None if key in defaults and value == defaults[key] else value
        for form in self.providers:
            if form.removed and not form.new:
                changes["providers", form.name] = None
            elif form.forget_key and ("providers", form.name, "api_key") not in changes:
                changes["providers", form.name, "api_key"] = None
        return changes

    # --- saving ------------------------------------------------------------------------------

    def action_save(self) -> None:
        # ctrl+s is a priority key: it can overtake keys still queued for the field being typed
        # in (a fast typist, a paste). Reading the form after the next refresh lets them land.
        self.call_after_refresh(self._save_form)

    def _save_form(self) -> None:
        try:
            changes = self.changes()
        except BadInput:
            return
        if not changes:
            self.notify("Nothing to save: no setting was changed.", timeout=3)
            self.dismiss()
            return
        reason = broken_reason(self.path)
        if reason is None:
            self.run_worker(self._save(changes), exclusive=True, group="save")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._save(changes, replace_broken=True), exclusive=True, group="save")
            else:
                self._say(f"Not saved: {reason}. Fix the file, or save again and replace it.")

        self.app.push_screen(ConfirmReplace(reason), answered)

    async def _save(self, changes: dict[Key, Any], *, replace_broken: bool = False) -> None:
        try:
            backup = save_changes(self.path, changes, replace_broken=replace_broken)
        except ConfigWriteError as error:
            self._say(str(error))
            return
        live = self.session.settings
        fresh = load_settings(path=self.path)
        current = self.session.provider
        apply_saved(live, fresh, changes)
        said = [f"Saved to {self.path}"]
        if backup is not None:
            said.append(f"The unreadable file was kept as {backup}")
        said += self._held_notes(changes, fresh)
        if ("provider",) in changes:
            said.append(f"r1chat starts with {fresh.provider} from now on (F4 switches this window)")
        said += [f"Still in the file: {problem}" for problem in fresh.problems]
        if ("ui", "theme") in changes:
            self.theme_before = self.app.theme
        reconnected = await self._switch_if_changed(changes, current, said)
        self.dismiss(Saved(set(changes), reconnected))
        self.app.notify("\n".join(said), title="Settings", timeout=6, markup=False)

    def _held_notes(self, changes: dict[Key, Any], fresh: Settings) -> list[str]:
        notes = []
        for key in changes:
            held = ("providers", key[1], "url") if key[0] == "providers" and key[-1] in ("host", "base_url") else key
            if variable := fresh.from_environment.get(held):
                notes.append(f"${variable} is set: it still decides {'.'.join(key)}")
        return notes

    async def _switch_if_changed(self, changes: dict[Key, Any], current: ProviderConfig, said: list[str]) -> bool:
        """Talk to the provider in use at its new address or with its new key at once; True
        when the session switched."""
        session = self.session
        touched = {key[2] for key in changes if key[:2] == ("providers", current.name) and len(key) == 3}
        if not touched & {"host", "base_url", "api_key"} or current.name not in session.settings.providers:
            return False
        try:
            await session.switch_provider(session.settings.providers[current.name], model=session.chosen_model)
        except MissingSetting as error:
            said.append(f"Still talking to {current.name} as before: {error}")
            return False
        return True

    # --- leaving -----------------------------------------------------------------------------

    def action_cancel(self) -> None:
        try:
            changed = bool(self.changes(quiet=True))
        except BadInput:
            changed = True
        if changed and not self.cancel_armed:
            self.cancel_armed = True
            self._say("Unsaved changes: Esc again drops them, ctrl+s saves them.")
            return
        self.dismiss()

    def dismiss(self, result=None):
        if self.app.theme != self.theme_before and self.theme_before in self.app.available_themes:
            self.app.theme = self.theme_before
        return super().dismiss(result)

"""Pick the model (or provider) the conversation talks to; delete a model, or read what it is."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from r1chat.backends import MissingSetting
from r1chat.backends.base import Backend, BackendError, ModelDetails, ModelInfo
from r1chat.fit import Memory, machine_memory, verdict, with_loaded_vram
from r1chat.pulls import Pull, PullState
from r1chat.sanitize import strip_controls
from r1chat.session import ChatSession
from r1chat.ui.cells import column
from r1chat.ui.confirm import Confirm
from r1chat.ui.filtered_list import FilteredList, moving_keys
from r1chat.units import human_size

MODEL, PROVIDER, PULL = "model", "provider", "pull"
NAME_WIDTH = 36  # longer names are cut with an ellipsis so the columns stay aligned
SHORT = 30  # rows: below this the dialog takes the whole height and drops its blank lines
LICENSE_LINES = 15


@dataclass(frozen=True, slots=True)
class PickerResult:
    """What the user chose: ``model`` (switch to ``value``), ``provider`` (the session now talks
    to provider ``value``; the picker already switched it) or ``pull`` (open the pull screen,
    ``value`` is the filter text as a suggested name, or None)."""

    action: str
    value: str | None = None


def _short(name: str) -> str:
    return name.removesuffix(":latest")


def _haystack(model: ModelInfo) -> str:
    return " ".join(filter(None, (model.name, model.family, model.parameter_size))).lower()


def matches(model: ModelInfo, query: str) -> bool:
    """Every word of ``query`` appears somewhere in the model's name, family or parameter count."""
    haystack = _haystack(model)
    return all(word in haystack for word in query.lower().split())


def licence_excerpt(text: str, lines: int = LICENSE_LINES) -> str:
    """The licence's first ``lines`` lines, saying how many more there are."""
    all_lines = text.strip().splitlines()
    excerpt = "\n".join(all_lines[:lines])
    if len(all_lines) > lines:
        excerpt += f"\n… {len(all_lines) - lines} more lines"
    return excerpt


# Widths of the columns after the name, in order, with the two spaces before each.
SIZE_W, PARAMS_W, QUANT_W, THINK_W, FIT_W, DATE_W = 8, 6, 7, 5, 7, 10
_VERDICT_STYLES = {"fits": "$success", "tight": "$warning", "too big": "$error"}


def row_width(name_width: int, dated: bool) -> int:
    """Cells a row takes: the loaded dot, the name and each column."""
    columns = (SIZE_W, PARAMS_W, QUANT_W, THINK_W, FIT_W) + ((DATE_W,) if dated else ())
    return 2 + name_width + sum(w + 2 for w in columns)


def model_row(model: ModelInfo, width: int, detailed: bool, memory: Memory | None = None, dated: bool = True) -> Content:
    """One line of the list. Names are data: they are never parsed as markup."""
    name = strip_controls(model.name)
    if not detailed:
        return Content(name)
    word = verdict(model.size, memory) if memory is not None and model.size else ""
    parts: list[tuple[str, str] | str | Content] = [
        ("●" if model.loaded else " ", "$success"),
        " ",
        column(name, width),
        "  ",
        human_size(model.size).rjust(SIZE_W),
        "  ",
        strip_controls(model.parameter_size or "-").rjust(PARAMS_W),
        "  ",
        strip_controls(model.quantization or "-").ljust(QUANT_W),
        "  ",
        ("think" if model.thinking else " " * THINK_W, "bold $accent"),
        "  ",
        (word.ljust(FIT_W), _VERDICT_STYLES.get(word, "")),
    ]
    if dated:
        date = model.modified_at.astimezone().strftime("%Y-%m-%d") if model.modified_at else "-"
        parts += ["  ", (date, "$foreground-muted")]
    return Content.assemble(*parts)


def column_titles(width: int, dated: bool = True) -> Content:
    titles = (
        f"  {'NAME'.ljust(width)}  {'SIZE':>{SIZE_W}}  {'PARAMS':>{PARAMS_W}}  {'QUANT':<{QUANT_W}}  {'':{THINK_W}}"
        f"  {'FIT':<{FIT_W}}" + ("  MODIFIED" if dated else "")
    )
    return Content.styled(titles, "$foreground-muted")


class ModelPicker(FilteredList, ModalScreen[PickerResult | None]):
    """The models of the session's provider, filtered as you type.

    Switching provider (f4) happens here, on the session itself, so the list can show the new
    provider's models at once; the picker then returns ``PickerResult("provider", name)`` on Esc.
    """

    CSS_PATH = "model_picker.tcss"
    AUTO_FOCUS = "#filter"
    BINDINGS = [
        Binding("escape", "close", "Close", id="model_picker.close"),
        *moving_keys("model_picker"),
        # Input binds ctrl+d to delete-right (the Delete key still does that): priority wins it back.
        Binding("ctrl+d", "delete", "Delete", priority=True, id="model_picker.delete"),
        Binding("ctrl+s", "info", "Info", id="model_picker.info"),
        Binding("f4", "next_provider", "Provider", id="model_picker.provider"),
        Binding("ctrl+n", "pull", "Pull", id="model_picker.pull"),
    ]

    def __init__(self, session: ChatSession) -> None:
        super().__init__()
        self.session = session
        self.models: list[ModelInfo] = []
        self._rows: dict[str, Content] = {}
        self._started_on = session.provider.name
        self._provider_name = session.provider.name  # the one shown, even if switching to it failed
        self._loaded = False
        self._switching = asyncio.Lock()
        self._stop_hearing_pulls: Callable[[], None] | None = None
        self.memory = machine_memory()  # for each model's fits / tight / too big
        self._dated = True  # the MODIFIED column, dropped when the dialog is too narrow for it

    # --- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(id="title")
            yield Input(placeholder="Type to filter: name, family, size (8b)…", id="filter")
            yield Label(id="columns")
            yield OptionList(id="models")
            yield Static(Content("Loading models…"), id="status", markup=False)
            yield Label(id="keys")

    @property
    def manages_models(self) -> bool:
        """The server pulls and deletes models, and says which are loaded and how big they are."""
        return self.session.backend.models is not None

    def on_mount(self) -> None:
        self._show_title()
        self.load_models()
        # A pull that ends while the picker is open (one left running in the background) changes
        # the list: show the new model at once.
        pulls = getattr(self.app, "pulls", None)
        if pulls is not None:
            self._stop_hearing_pulls = pulls.on_finish(self._pull_finished)

    def on_unmount(self) -> None:
        if self._stop_hearing_pulls is not None:
            self._stop_hearing_pulls()

    def _pull_finished(self, pull: Pull) -> None:
        if pull.state is PullState.DONE and self.manages_models:
            self.load_models()

    def _show_title(self) -> None:
        # While a switch to _provider_name failed, the session's URL is another provider's.
        url = self.session.backend.url if self._provider_name == self.session.provider.name else ""
        title = Content.assemble(
            ("Models", "bold"),
            "  ",
            strip_controls(self._provider_name),
            (f"  {strip_controls(url)}", "$foreground-muted"),
        )
        self.query_one("#title", Label).update(title)
        self.query_one("#columns", Label).display = self.manages_models
        self.query_one("#columns", Label).update(column_titles(self._name_width(), self._dated))
        self._show_keys()

    def _show_keys(self) -> None:
        """The picker's keys as they are bound now (the user's keymap and provider apply)."""
        order = {binding.id: index for index, binding in enumerate(self.BINDINGS) if isinstance(binding, Binding)}
        seen: dict[str, Content] = {}
        for active in self.active_bindings.values():
            binding = active.binding
            if active.node is not self or not binding.show or binding.id in seen:
                continue
            key = self.app.get_key_display(binding)
            seen[binding.id or binding.action] = Content.assemble((key, "bold"), f" {binding.description}")
        parts = [Content.assemble(("↑↓", "bold"), " move"), Content.assemble(("enter", "bold"), " use")]
        parts += [seen[k] for k in sorted(seen, key=lambda k: order.get(k, 99))]
        self.query_one("#keys", Label).update(Content("  ·  ").join(parts))

    def _name_width(self) -> int:
        longest = max((len(strip_controls(m.name)) for m in self.models), default=20)
        return min(max(longest, 4), NAME_WIDTH)

    def _set_status(self, text: str, problem: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(Content(text))
        status.set_class(problem, "-problem")

    # --- loading -----------------------------------------------------------------------------

    @work(group="models", exclusive=True, exit_on_error=False)
    async def load_models(self) -> None:
        """(Re)load the list; it stays on screen while a refresh is under way."""
        if not self._loaded:
            self._set_status("Loading models…")
        backend = self.session.backend
        try:
            models = await backend.list_models()
        except BackendError as error:
            self.models, self._rows, self._loaded = [], {}, False
            self.option_list.clear_options()
            message = str(error)
            if backend.url not in message:
                message = f"{message} ({backend.url})"
            self._set_status(f"Could not list the models: {message}", problem=True)
            return
        highlighted = self.option_list.highlighted_option
        self.models, self._loaded = models, True
        if self.memory is not None:  # the loaded models' GPU memory counts, as on the pull screen
            self.memory = with_loaded_vram(self.memory, (m.vram for m in models if m.loaded))
        self._fill_rows()
        self._show_matches(keep=highlighted.id if highlighted else self.session.preferred_model())
        self.refresh_bindings()

    def _fill_rows(self) -> None:
        width = self._name_width()
        room = self.option_list.scrollable_content_region.width - 2  # an option's own padding
        self._dated = room <= 0 or row_width(width, True) <= room
        self._rows = {m.name: model_row(m, width, self.manages_models, self.memory, self._dated) for m in self.models}
        self._show_title()

    def on_resize(self) -> None:
        self.set_class(self.size.height < SHORT, "-short")
        if self._loaded:
            self.call_after_refresh(self._refit)

    def _refit(self) -> None:
        room = self.option_list.scrollable_content_region.width - 2
        if (room <= 0 or row_width(self._name_width(), True) <= room) != self._dated:
            highlighted = self.option_list.highlighted_option
            self._fill_rows()
            self._show_matches(keep=highlighted.id if highlighted else None)

    def _show_matches(self, keep: str | None = None) -> None:
        """Show the models matching the filter, keeping ``keep`` highlighted when it is one."""
        query = self.query_one("#filter", Input).value
        shown = [m for m in self.models if matches(m, query)]
        options = self.option_list
        old_index = options.highlighted or 0
        options.set_options(Option(self._rows[m.name], id=m.name) for m in shown)
        names = [m.name for m in shown]
        if keep is not None and keep not in names:
            keep = next((n for n in names if _short(n) == _short(keep)), None)
        if names:
            options.highlighted = names.index(keep) if keep is not None else min(old_index, len(names) - 1)
        total = len(self.models)
        if not total:
            pull = f"  {self.key_of('model_picker.pull')} pulls one." if self.manages_models else ""
            self._set_status(f"No models on this server yet.{pull}")
        elif not shown:
            self._set_status(f"No model matches '{query.strip()}' (of {total}).")
        elif len(shown) < total:
            self._set_status(f"{len(shown)} of {total} models{self._legend()}")
        else:
            self._set_status(f"{total} model{'s' if total != 1 else ''}{self._legend()}")

    def _legend(self) -> str:
        # Here rather than beside the column titles, where it wrapped on an 80-column terminal.
        return "  ·  ● loaded in memory" if any(m.loaded for m in self.models) else ""

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        if self._loaded:
            self._show_matches(keep=None)

    # --- choosing ----------------------------------------------------------------------------

    @property
    def highlighted_model(self) -> ModelInfo | None:
        if not self.models:
            return None
        option = self.option_list.highlighted_option
        if option is None:
            return None
        return next((m for m in self.models if m.name == option.id), None)

    @on(Input.Submitted, "#filter")
    def _submitted(self) -> None:
        model = self.highlighted_model
        if model is not None:
            self.dismiss(PickerResult(MODEL, model.name))
        else:
            self.app.bell()

    @on(OptionList.OptionSelected, "#models")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(PickerResult(MODEL, event.option.id))

    def action_close(self) -> None:
        switched = self.session.provider.name != self._started_on
        self.dismiss(PickerResult(PROVIDER, self.session.provider.name) if switched else None)

    def action_pull(self) -> None:
        self.dismiss(PickerResult(PULL, self.query_one("#filter", Input).value.strip() or None))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("delete", "pull") and not self.manages_models:
            return False
        if action in ("delete", "info") and self.highlighted_model is None:
            return None
        return True

    @on(OptionList.OptionHighlighted, "#models")
    def _highlight_moved(self) -> None:
        self.refresh_bindings()

    # --- provider ----------------------------------------------------------------------------

    def action_next_provider(self) -> None:
        names = list(self.session.settings.providers)
        if len(names) < 2:
            self.notify("Only one provider is configured.", timeout=3)
            return
        index = names.index(self._provider_name) if self._provider_name in names else -1
        self._provider_name = names[(index + 1) % len(names)]
        self._switch_provider(self._provider_name)

    @work(group="provider", exit_on_error=False)
    async def _switch_provider(self, name: str) -> None:
        # Nothing may still read from the backend that is about to be closed.
        self.workers.cancel_group(self, "models")
        self.query_one("#filter", Input).value = ""
        self.models, self._rows, self._loaded = [], {}, False
        self.option_list.clear_options()
        self._set_status(f"Switching to {name}…")
        provider = self.session.settings.provider_config(name)
        # One switch at a time, and none cut half way (the old backend closed, the new not kept).
        async with self._switching:
            try:
                await asyncio.shield(self.session.switch_provider(provider))
            except MissingSetting as error:
                if name == self._provider_name:
                    self._show_title()
                    next_key = self.key_of("model_picker.provider")
                    self._set_status(f"{error}  {next_key}: next provider", problem=True)
                return
        if name == self._provider_name:  # not already overtaken by another press
            self._show_title()
            self.load_models()

    # --- delete ------------------------------------------------------------------------------

    def action_delete(self) -> None:
        model = self.highlighted_model
        if model is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._delete(model.name)

        self.app.push_screen(ConfirmDelete(model), confirmed)

    @work(group="delete", exit_on_error=False)
    async def _delete(self, name: str) -> None:
        models = self.session.backend.models
        if models is None:  # the provider changed while the question was open
            return
        try:
            await models.delete(name)
        except BackendError as error:
            self.notify(str(error), title="Not deleted", severity="error", markup=False)
            return
        self.notify(f"Deleted {strip_controls(name)}", markup=False)
        self.load_models()

    # --- info --------------------------------------------------------------------------------

    def action_info(self) -> None:
        model = self.highlighted_model
        if model is not None:
            self.app.push_screen(ModelInfoScreen(self.session.backend, model))


class ConfirmDelete(Confirm):
    """"Delete deepseek-r1:8b (5.2 GB)?" """

    BINDINGS = [
        Binding("y", "answer(True)", "Delete", id="confirm_delete.yes"),
        Binding("n,escape", "answer(False)", "Keep", id="confirm_delete.no"),
    ]

    def __init__(self, model: ModelInfo) -> None:
        size = f" ({human_size(model.size)})" if model.size is not None else ""
        super().__init__(
            Content.assemble("Delete ", (strip_controls(model.name), "bold"), f"{size}?"),
            Content.styled("It is removed from the server's disk.", "$foreground-muted"),
            yes="Delete", no="Keep",
        )


class ModelInfoScreen(ModalScreen[None]):
    """What the server says about one model (``/api/show`` on Ollama), shown literally."""

    CSS_PATH = "model_picker.tcss"
    AUTO_FOCUS = "#info"
    BINDINGS = [Binding("escape,q", "dismiss(None)", "Close", id="model_info.close")]

    def __init__(self, backend: Backend, model: ModelInfo) -> None:
        super().__init__()
        self.backend = backend
        self.model = model

    def compose(self) -> ComposeResult:
        with Vertical(id="info-dialog"):
            yield Label(Content.styled(strip_controls(self.model.name), "bold"), id="info-title")
            with VerticalScroll(id="info"):
                yield Static(Content("Loading…"), id="facts", markup=False)
            hint = "↑↓ PgUp PgDn scroll · Tab to the template · Esc closes"
            yield Label(Content.styled(hint, "$foreground-muted"))

    def on_mount(self) -> None:
        self.load_details()

    @work(exit_on_error=False)
    async def load_details(self) -> None:
        try:
            details = await self.backend.show(self.model.name)
        except BackendError as error:
            self.query_one("#facts", Static).update(Content(f"Could not read the model's details: {error}"))
            return
        await self._show_details(details)

    async def _show_details(self, details: ModelDetails) -> None:
        info = self.query_one("#info", VerticalScroll)
        model = self.model
        context = details.context_length or model.context_length
        facts = [
            ("Capabilities", ", ".join(details.capabilities) or "not reported"),
            ("Context length", f"{context:,} tokens" if context else "not reported"),
            ("Family", details.family or model.family),
            ("Parameter count", details.parameter_size or model.parameter_size),
            ("Quantisation", details.quantization or model.quantization),
            ("Size on disk", human_size(model.size) if model.size is not None else None),
        ]
        lines = [Content.assemble((f"{label:<17}", "bold"), strip_controls(value)) for label, value in facts if value]
        self.query_one("#facts", Static).update(Content("\n").join(lines))
        sections = [
            ("Parameters", details.parameters),
            ("Template", details.template),
            ("Licence", licence_excerpt(details.license)),
        ]
        widgets: list[Widget] = []
        for title, text in sections:
            if not text.strip():
                continue
            widgets.append(Label(Content.styled(title, "bold"), classes="section-title"))
            body = Static(Content(strip_controls(text.strip("\n"))), markup=False, id=title.lower())
            # A long template gets its own scroll box, so the licence stays in reach below it.
            widgets.append(VerticalScroll(body, classes="section-scroll") if title == "Template" else body)
        await info.mount_all(widgets)

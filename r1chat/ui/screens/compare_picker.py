"""Pick 2 to 4 models, from every configured provider, to answer the next prompts side by side."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from r1chat.backends.base import ModelInfo
from r1chat.catalog import ProviderModels, models_everywhere
from r1chat.refs import ModelRef
from r1chat.sanitize import strip_controls
from r1chat.session import ChatSession
from r1chat.ui.cells import clip, column
from r1chat.ui.filtered_list import FilteredList, moving_keys

FEWEST, MOST = 2, 4
NAME_WIDTH = 44  # model@provider; longer ones are cut with an ellipsis so the columns line up
PROBLEM_WIDTH = 60  # a provider's problem stays on one line (before the list has a width)
SHORT = 30  # rows: below this the dialog takes the whole height


def _row(ref: ModelRef, model: ModelInfo, picked: int | None, width: int) -> Content:
    """One model: its place among the picked (the column it gets), model@provider, size, think."""
    mark = (f"{picked + 1}", "bold $accent") if picked is not None else ("·", "$foreground-muted")
    return Content.assemble(
        mark,
        " ",
        column(strip_controls(str(ref)), width),
        "  ",
        (strip_controls(model.parameter_size or "").rjust(6), "$foreground-muted"),
        "  ",
        ("think" if model.thinking else "", "bold $accent"),
    )


def _haystack(ref: ModelRef, model: ModelInfo) -> str:
    return " ".join(filter(None, (model.name, model.family, model.parameter_size, ref.provider))).lower()


class ComparePicker(FilteredList, ModalScreen[list[ModelRef] | None]):
    """Every configured provider's models in one list, each named model@provider; Enter (or a
    click) picks or unpicks the highlighted one; the compare key returns the picked, in order.

    A provider that cannot be reached, or is not set up, is one line in the list."""

    CSS_PATH = "compare_picker.tcss"
    AUTO_FOCUS = "#filter"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="compare_picker.close"),
        *moving_keys("compare_picker"),
        Binding("ctrl+s", "start", "Compare", id="compare_picker.start"),
    ]

    def __init__(self, session: ChatSession, picked: list[ModelRef] | None = None) -> None:
        super().__init__()
        self.session = session
        self.picked: list[ModelRef] = list(picked or [])
        self.found: dict[str, ProviderModels] = {}  # provider name -> what it answered

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(id="title")
            yield Input(placeholder="Type to filter: name, provider, size (8b)…", id="filter")
            yield OptionList(id="models")
            yield Static(id="status", markup=False)
            yield Label(id="keys")

    def on_mount(self) -> None:
        self._show_keys()
        self._show()
        self.load()

    def on_resize(self) -> None:
        self.set_class(self.size.height < SHORT, "-short")
        self.call_after_refresh(self._show)  # the problems' lines are cut to the list's width

    def _show_keys(self) -> None:
        parts = [
            Content.assemble(("↑↓", "bold"), " move"),
            Content.assemble(("enter", "bold"), " pick / unpick"),
            Content.assemble((self.key_of("compare_picker.start"), "bold"), " compare"),
            Content.assemble((self.key_of("compare_picker.close"), "bold"), " cancel"),
        ]
        self.query_one("#keys", Label).update(Content("  ·  ").join(parts))

    # --- loading -----------------------------------------------------------------------------

    @work(group="models", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        session = self.session
        async for found in models_everywhere(session.settings, session.backend_for):
            self.found[found.provider] = found
            self._show()

    # --- the list ----------------------------------------------------------------------------

    def _refs(self) -> list[tuple[ModelRef, ModelInfo]]:
        """Every model found, provider by provider in the configured order."""
        return [
            (ModelRef(model.name, name), model)
            for name in self.session.settings.providers
            if (found := self.found.get(name)) is not None
            for model in found.models
        ]

    def _show(self, keep: str | None = None) -> None:
        """The list as it stands: the models matching the filter, then a line per provider with
        nothing to list (still asked, not reachable, not set up)."""
        words = self.query_one("#filter", Input).value.lower().split()
        shown = [(ref, model) for ref, model in self._refs() if all(w in _haystack(ref, model) for w in words)]
        options: list[Option] = []
        width = min(max((len(str(ref)) for ref, _ in shown), default=20), NAME_WIDTH)
        for ref, model in shown:
            picked = self.picked.index(ref) if ref in self.picked else None
            options.append(Option(_row(ref, model, picked, width), id=str(ref)))
        for name in self.session.settings.providers:
            found = self.found.get(name)
            if found is None:
                line = Content.styled(f"{strip_controls(name)}: asking for its models…", "$foreground-muted")
            elif found.problem is not None:
                room = self.option_list.scrollable_content_region.width - 2  # an option's own padding
                said = clip(f"{name}: {strip_controls(found.problem)}", room if room > 0 else PROBLEM_WIDTH)
                line = Content.styled(said, "$error")
            elif not found.models:
                line = Content.styled(f"{strip_controls(name)}: no models", "$foreground-muted")
            else:
                continue
            options.append(Option(line, id=f"provider:{name}", disabled=True))
        highlighted = self.option_list.highlighted_option
        keep = keep or (highlighted.id if highlighted is not None else None)
        self.option_list.set_options(options)
        ids = [option.id for option in options]
        enabled = [option.id for option in options if not option.disabled]
        if enabled:
            self.option_list.highlighted = ids.index(keep if keep in enabled else enabled[0])
        self._show_title()

    def _show_title(self) -> None:
        count = len(self.picked)
        title = Content.assemble(
            ("Compare models", "bold"),
            (f"  pick {FEWEST} to {MOST} · {count} picked", "$foreground-muted"),
        )
        self.query_one("#title", Label).update(title)
        said = " · ".join(f"{n}. {strip_controls(str(ref))}" for n, ref in enumerate(self.picked, 1))
        self._say(said or "None picked yet: Enter picks the highlighted model.")

    def _say(self, text: str, problem: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(Content(text))
        status.set_class(problem, "-problem")

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self._show()

    # --- picking -----------------------------------------------------------------------------

    @on(Input.Submitted, "#filter")
    def _submitted(self) -> None:
        option = self.option_list.highlighted_option
        if option is None or option.disabled or option.id is None:
            self.app.bell()
            return
        self.toggle(option.id)

    @on(OptionList.OptionSelected, "#models")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None and not event.option.disabled:
            self.toggle(event.option.id)

    def toggle(self, option_id: str) -> None:
        ref = next((ref for ref, _ in self._refs() if str(ref) == option_id), None)
        if ref is None:
            return
        if ref in self.picked:
            self.picked.remove(ref)
        elif len(self.picked) >= MOST:
            self._say(f"At most {MOST} models: unpick one first.", problem=True)
            return
        else:
            self.picked.append(ref)
        self._show(keep=option_id)

    def action_start(self) -> None:
        if not FEWEST <= len(self.picked) <= MOST:
            self._say(f"Pick {FEWEST} to {MOST} models to compare ({len(self.picked)} picked).", problem=True)
            return
        self.dismiss(list(self.picked))

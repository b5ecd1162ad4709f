"""Pull a model into Ollama: pick a name, watch per-layer progress, cancel or leave it running."""

from __future__ import annotations

from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, OptionList, ProgressBar
from textual.widgets.option_list import Option

from r1chat.backends.base import Backend, BackendError
from r1chat.fit import Memory, machine_memory, verdict, with_loaded_vram
from r1chat.pulls import SUGGESTIONS, Layer, Pull, Pulls, PullState
from r1chat.sanitize import strip_controls
from r1chat.ui.widgets.footer import HELP, KeysFooter
from r1chat.units import human_duration, human_size

# Progress lines can come every ~60 ms per pull; redraw at most this often.
REDRAW_SECONDS = 1 / 15


_VERDICT_STYLES = {"fits": "$success", "tight": "$warning", "too big": "$error"}


def _suggestion_prompt(name: str, size: int, note: str, memory: Memory | None = None) -> Content:
    parts: list = [(f"{name:<18}", "bold"), (f"{human_size(size):>9}", "$accent"), "  "]
    if memory is not None:
        word = verdict(size, memory)
        parts += [(f"{word:<8}", _VERDICT_STYLES[word]), "  "]
    return Content.assemble(*parts, (note, "$foreground-muted"))


class LayerRow(Horizontal):
    """One blob of the model: its short digest and size, and a bar."""

    def __init__(self, layer: Layer) -> None:
        super().__init__(classes="layer")
        self.blob = layer
        self.label = Label(classes="digest")
        self.bar = ProgressBar(total=layer.total or None, show_eta=False)

    def compose(self) -> ComposeResult:
        yield self.label
        yield self.bar

    def show(self) -> None:
        self.label.update(Content.assemble(self.blob.short, "  ", (human_size(self.blob.total), "$foreground-muted")))
        self.bar.update(total=self.blob.total or None, progress=self.blob.completed)


class PullScreen(ModalScreen[None]):
    """Pull one model and show its progress; the pull itself lives in ``pulls``, not here.

    With ``model``, shows the running pull of that model, or starts one (``start=False``: only
    fills in the name). Hiding the screen leaves the pull running in the background.
    """

    CSS_PATH = "pull.tcss"
    AUTO_FOCUS = "#name"
    BINDINGS = [
        Binding("escape", "cancel_pull", "Cancel pull", id="pull.cancel"),
        Binding("escape", "close", "Close", id="pull.close"),
        Binding("ctrl+r", "hide", "Run in background", id="pull.hide"),
        HELP,
        Binding("down", "move_suggestion(1)", "Next", show=False, id="pull.next_suggestion"),
        Binding("up", "move_suggestion(-1)", "Previous", show=False, id="pull.previous_suggestion"),
    ]

    def __init__(self, pulls: Pulls, backend: Backend, model: str | None = None, *, start: bool = True) -> None:
        super().__init__()
        self.pulls = pulls
        self.backend = backend
        self.initial = (model or "").strip()
        self.start_initial = start
        self.pull: Pull | None = None
        self._unwatch: Callable[[], None] | None = None
        self._unwatch_others: Callable[[], None] | None = None
        self._redraw_pending = False
        self._showing_state: PullState | None = None
        self.memory = machine_memory()  # for each suggestion's fits / tight / too big

    # --- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        names = [s.name for s in SUGGESTIONS]
        with Vertical(id="dialog"):
            yield Label(Content.styled("Pull a model", "bold"), id="title")
            yield Input(
                value=self.initial,
                placeholder="model name, e.g. deepseek-r1:8b",
                suggester=SuggestFromList(names, case_sensitive=False),
                id="name",
            )
            yield OptionList(*self._options(""), id="suggestions")
            with Vertical(id="progress"):
                yield Label(id="heading")
                yield VerticalScroll(id="layers")
                yield Label(id="bytes")
                yield Label(id="statuses")
                yield Label(id="error")
            yield Label(id="others")
            with Horizontal(id="buttons"):
                # Compact: the whole dialog must fit an 80x24 terminal mid-pull.
                yield Button("Pull", variant="primary", id="start", compact=True)
                yield Button("Run in background", id="hide", compact=True)
                yield Button("Cancel pull", variant="error", id="cancel", compact=True)
                yield Button("Close", id="close", compact=True)
        yield KeysFooter()

    def _options(self, text: str) -> list[Option]:
        text = text.strip().lower()
        return [
            Option(_suggestion_prompt(s.name, s.size, s.note, self.memory), id=s.name)
            for s in SUGGESTIONS
            if not text or text in s.name or s.name == text
        ]

    def on_mount(self) -> None:
        self._unwatch_others = self.pulls.on_change(self._changed)
        running = self.pulls.get(self.initial) if self.initial else None
        if running is not None and not running.finished:
            self._show(running)
        elif self.initial and self.start_initial:
            self._start(self.initial)
        else:
            self._redraw()
        self.learn_vram()

    @work(group="vram", exit_on_error=False)
    async def learn_vram(self) -> None:
        """Count the GPU memory Ollama says its loaded models take in each suggestion's verdict."""
        if self.memory is None:
            return
        try:
            models = await self.backend.list_models()
        except BackendError:
            return
        memory = with_loaded_vram(self.memory, (m.vram for m in models if m.loaded))
        if memory == self.memory or not self.is_attached:  # closed while the server answered
            return
        self.memory = memory
        suggestions = self.query_one("#suggestions", OptionList)
        for option in self._options(self.query_one("#name", Input).value):
            if option.id is not None:
                suggestions.replace_option_prompt(option.id, option.prompt)

    def on_unmount(self) -> None:
        self._detach()
        if self._unwatch_others is not None:
            self._unwatch_others()
            self._unwatch_others = None

    # --- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        running = self.pull is not None and not self.pull.finished
        if action == "cancel_pull":
            return running
        if action == "close":
            return not running
        if action == "hide":
            return running
        return True

    def action_cancel_pull(self) -> None:
        if self.pull is not None:
            self.pull.cancel()

    def action_close(self) -> None:
        self._detach()
        self.dismiss(None)

    def action_hide(self) -> None:
        """Close the screen; the pull goes on and ``pulls`` reports its end."""
        self._detach()
        self.dismiss(None)

    def action_move_suggestion(self, step: int) -> None:
        suggestions = self.query_one("#suggestions", OptionList)
        if not suggestions.display or suggestions.option_count == 0:
            return
        current = suggestions.highlighted
        suggestions.highlighted = 0 if current is None else max(0, min(current + step, suggestions.option_count - 1))
        option = suggestions.highlighted_option
        if option is not None and option.id is not None:
            name = self.query_one("#name", Input)
            with name.prevent(Input.Changed):
                name.value = option.id
            name.cursor_position = len(name.value)

    @on(Input.Submitted, "#name")
    @on(Button.Pressed, "#start")
    def _submitted(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        if not name:
            option = self.query_one("#suggestions", OptionList).highlighted_option
            name = option.id if option is not None and option.id is not None else ""
        if name:
            self._start(name)
        else:
            self.app.bell()

    @on(OptionList.OptionSelected, "#suggestions")
    def _suggestion_chosen(self, event: OptionList.OptionSelected) -> None:
        name = event.option.id
        if name is not None:
            self.query_one("#name", Input).value = name
            self._start(name)

    @on(Input.Changed, "#name")
    def _name_changed(self, event: Input.Changed) -> None:
        if self.pull is not None and self.pull.finished and event.value.strip() != self.pull.model:
            self._detach()  # a new name: back to choosing
        suggestions = self.query_one("#suggestions", OptionList)
        suggestions.set_options(self._options(event.value))
        self._redraw()

    @on(Button.Pressed, "#hide")
    def _hide_pressed(self) -> None:
        self.action_hide()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel_pull()

    @on(Button.Pressed, "#close")
    def _close_pressed(self) -> None:
        self.action_close()

    # --- the pull shown --------------------------------------------------------------------------

    def _start(self, name: str) -> None:
        self._show(self.pulls.start(self.backend, name))

    def _show(self, pull: Pull) -> None:
        self._detach()
        self.pull = pull
        pull.viewers += 1
        self._unwatch = pull.on_change(self._changed)
        self._showing_state = None
        self.query_one("#layers").remove_children()
        name = self.query_one("#name", Input)
        with name.prevent(Input.Changed):
            name.value = pull.model
        self._redraw()

    def _detach(self) -> None:
        if self.pull is not None:
            self.pull.viewers -= 1
        if self._unwatch is not None:
            self._unwatch()
        self.pull = self._unwatch = None

    def _changed(self, pull: Pull) -> None:
        if not self._redraw_pending and self.is_attached:
            self._redraw_pending = True
            self.set_timer(REDRAW_SECONDS, self._redraw)

    def _redraw(self) -> None:
        self._redraw_pending = False
        if not self.is_attached or not self.query("#suggestions"):  # closed, or its widgets on the way out
            return
        pull = self.pull
        running = pull is not None and not pull.finished
        self.set_class(pull is not None, "-showing")
        self.set_class(running, "-running")
        self.query_one("#suggestions").display = pull is None and self.query_one("#suggestions", OptionList).option_count > 0
        name = self.query_one("#name", Input)
        if name.disabled != running:
            name.disabled = running
            if running:
                self.query_one("#hide", Button).focus()
            else:
                name.focus()
        if pull is not None:
            self._draw_pull(pull)
        self._draw_others()
        if self._showing_state is not (pull.state if pull else None):
            self._showing_state = pull.state if pull else None
            self.refresh_bindings()

    def _draw_pull(self, pull: Pull) -> None:
        model = strip_controls(pull.model)
        heading = {
            PullState.RUNNING: Content.assemble("Pulling ", (model, "bold"), *self._fit(pull)),
            PullState.DONE: Content.assemble(
                ("✓ ", "$success"), "Pulled ", (model, "bold"), f" in {human_duration(pull.elapsed)}"
            ),
            PullState.CANCELLED: Content.assemble(
                "Cancelled pulling ", (model, "bold"), (". Pulling again resumes where it stopped.", "$foreground-muted")
            ),
            PullState.FAILED: Content.assemble(("✗ ", "$error"), "Pulling ", (model, "bold"), " failed"),
        }[pull.state]
        self.query_one("#heading", Label).update(heading)

        rows = self.query_one("#layers", VerticalScroll)
        # Rows of a pull shown before this one may still be on their way out.
        shown = {row.blob.digest: row for row in rows.query(LayerRow) if pull.layers.get(row.blob.digest) is row.blob}
        new = [LayerRow(layer) for digest, layer in pull.layers.items() if digest not in shown]
        for row in [*shown.values(), *new]:
            row.show()
        if new:
            rows.mount_all(new)
            rows.call_after_refresh(rows.scroll_end, animate=False)

        parts = []
        if pull.total:
            parts.append(f"{human_size(pull.completed)} / {human_size(pull.total)}")
        if pull.layer is not None:  # speed and ETA mean something only while bytes flow
            if (speed := pull.speed) is not None:
                parts.append(f"{human_size(speed)}/s")
            if (eta := pull.eta()) is not None:
                parts.append(f"ETA {human_duration(eta)}")
        self.query_one("#bytes", Label).update(Content(" · ".join(parts)))
        # What the server is doing now (a layer, verifying, writing): the first line said
        # "pulling manifest" for the whole download.
        self.query_one("#statuses", Label).update(Content(pull.status if not pull.finished else ""))
        error = self.query_one("#error", Label)
        error.update(Content(strip_controls(pull.error or "")))
        error.display = bool(pull.error)

    def _fit(self, pull: Pull) -> list[tuple[str, str] | str]:
        """`` · 9.0 GB · fits`` once the download's size is known, as the suggestions say it."""
        size = pull.size
        if not size:
            return []
        parts: list[tuple[str, str] | str] = ["  ", (human_size(size), "$accent")]
        if self.memory is not None:
            word = verdict(size, self.memory)
            parts += ["  ", (word, _VERDICT_STYLES[word])]
        return parts

    def _draw_others(self) -> None:
        others = [p for p in self.pulls.active() if p is not self.pull]
        label = self.query_one("#others", Label)
        label.update(Content("\n".join(f"Also {p.summary()}" for p in others)))
        label.display = bool(others)

"""Pick a file to attach: a fuzzy filter over the folder r1chat was started in (r1chat/file_finder.py).

The walk runs in a thread; the list fills when it is done. Enter on a folder opens it (the filter
becomes ``folder/``), on a file chooses it. Dismisses with the path relative to the root, or None.
"""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from r1chat import file_finder
from r1chat.sanitize import strip_controls
from r1chat.ui.confirm import Confirm

CSS = Path(__file__).with_name("file_picker.tcss")
# Ranking 20,000 paths takes a few hundred milliseconds on a busy machine: beyond this many it
# runs in a thread, so keys are never held up; below, at once (a project folder's few hundred).
RANK_IN_THREAD = 3_000


def _shown(folder: Path) -> str:
    """The folder as its owner reads it: under the home folder from ``~``."""
    try:
        return strip_controls(f"~/{folder.relative_to(Path.home())}")
    except ValueError:
        return strip_controls(str(folder))


class FilePicker(ModalScreen[str | None]):
    CSS_PATH = CSS
    AUTO_FOCUS = "Input"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="file_picker.close"),
        Binding("down", "move(1)", "Next", show=False, id="file_picker.down"),
        Binding("up", "move(-1)", "Previous", show=False, id="file_picker.up"),
    ]

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.entries: list[file_finder.Entry] | None = None  # None until the walk is done
        self.shown: list[file_finder.Entry] = []
        self._ranked_for: str | None = None  # the filter ``shown`` was ranked for

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Content.assemble(("Attach a file", "bold"), (f"  from {_shown(self.root)}", "$foreground-muted")))
            yield Input(placeholder="Type to filter · folder/ opens a folder", id="filter")
            yield OptionList(id="files")
            yield Label(Content.styled("Reading the folder…", "$foreground-muted"), id="picker-status")

    def on_mount(self) -> None:
        self._walk()

    @work(thread=True, exit_on_error=False)
    def _walk(self) -> None:
        entries = file_finder.walk(self.root)
        self.app.call_from_thread(self._walked, entries)

    def _walked(self, entries: list[file_finder.Entry]) -> None:
        self.entries = entries
        self._show(self.query_one(Input).value)

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _show(self, query: str) -> None:
        if self.entries is None:
            return
        if len(self.entries) > RANK_IN_THREAD:
            self._rank(self.entries, query)
        else:
            self._ranked(query, file_finder.rank(self.entries, query))

    @work(thread=True, exclusive=True, group="rank", exit_on_error=False)
    def _rank(self, entries: list[file_finder.Entry], query: str) -> None:
        ranked = file_finder.rank(entries, query)
        if not get_current_worker().is_cancelled:  # a newer key's ranking is on its way
            self.app.call_from_thread(self._ranked, query, ranked)

    def _ranked(self, query: str, ranked: list[file_finder.Entry]) -> None:
        if self.entries is None or query != self.query_one(Input).value:
            return
        self.shown, self._ranked_for = ranked, query
        files = self.query_one(OptionList)
        files.set_options(self._option(entry) for entry in self.shown)
        if self.shown:
            files.highlighted = 0
        capped = " (the first 20,000 only)" if len(self.entries) >= file_finder.MAX_ENTRIES else ""
        said = f"{len(self.shown):,} of {len(self.entries):,}{capped}" if self.shown else "Nothing matches"
        self.query_one("#picker-status", Label).update(Content.styled(
            f"{said} · Enter chooses (a folder opens) · Esc keeps a plain @", "$foreground-muted"))

    @staticmethod
    def _option(entry: file_finder.Entry) -> Option:
        text = strip_controls(entry.path)
        if entry.ignored:
            label = Content.assemble((text, "$foreground-muted"), (" · ignored by git", "$foreground-muted"))
        elif entry.hidden:
            label = Content.styled(text, "$foreground-muted")
        else:
            label = Content.styled(text, "bold" if entry.is_dir else "")
        return Option(label)

    def action_move(self, step: int) -> None:
        files = self.query_one(OptionList)
        if self.shown:
            files.highlighted = max(0, min(len(self.shown) - 1, (files.highlighted or 0) + step))

    @on(Input.Submitted, "#filter")
    def _submitted(self, event: Input.Submitted) -> None:
        if self.entries is not None and self._ranked_for != event.value:  # Enter before its ranking came
            self._ranked(event.value, file_finder.rank(self.entries, event.value))
        highlighted = self.query_one(OptionList).highlighted
        if highlighted is not None and highlighted < len(self.shown):
            self._choose(self.shown[highlighted])

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(self.shown[event.option_index])

    def _choose(self, entry: file_finder.Entry) -> None:
        if entry.is_dir:
            field = self.query_one(Input)
            field.value = entry.path
            field.cursor_position = len(entry.path)
            field.focus()
        else:
            self.dismiss(entry.path)


class AttachQuestion(Confirm):
    """A yes/no question about attaching: a pasted path (attach it?), an image for a model that
    may not take images (send it?). Nothing is lost either way, so its frame is not red and yes
    has the focus."""

    CSS_PATH = [Confirm.CSS_PATH, CSS]  # type: ignore[assignment]  # its frame over the red one
    AUTO_FOCUS = "#yes"
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="attach_question.yes"),
        Binding("n,escape", "answer(False)", "No", id="attach_question.no"),
    ]

    def __init__(self, question: str, detail: str, *, yes: str, no: str) -> None:
        super().__init__(Content.styled(strip_controls(question), "bold"),
                         Content.styled(strip_controls(detail), "$foreground-muted"), yes=yes, no=no)

    def on_mount(self) -> None:
        self.query_one("#yes", Button).variant = "primary"

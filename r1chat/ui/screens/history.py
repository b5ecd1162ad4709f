"""Past conversations: newest first, searched as you type over titles, prompts, answers and
traces; open, rename, delete or export the one under the cursor."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rich.cells import cell_len
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from r1chat import collector
from r1chat.conversation import Conversation
from r1chat.export import ExportError, export_dir, file_name, render, save, write
from r1chat.sanitize import strip_controls
from r1chat.search import SearchHit, search_terms
from r1chat.store import ConversationSummary, SearchCancelled, Store, StoreError
from r1chat.ui.cells import clip, column
from r1chat.ui.confirm import Confirm
from r1chat.ui.widgets.footer import KeysFooter
from r1chat.ui.widgets.one_pass import OnePass
from r1chat.units import human_date

PAGE = 200  # conversations listed at once; the search reaches every one
SEARCH_LIMIT = 100
# Seconds of quiet typing before a search runs. A newer key cancels a search that runs, so a short
# pause is enough (at 80 ms, more than the whole search of a year of traces took).
SEARCH_DELAY = 0.01
MORE_DELAY = 0.3  # seconds of quiet typing before the hits below the first screenful are listed
SHORT = 30  # rows: below this the screen drops its blank lines and the rules between rows
TITLE_WIDTH = 48
COUNT_WIDTH = 11  # "999 matches"
DATE_WIDTH = 12
WHERE_BADGES = {"title": "title", "prompt": "prompt", "answer": "answer", "trace": "trace"}


class Rows(OnePass, OptionList):
    """The rows. OptionList sets its scrollable height while it draws, and Textual answered with a
    second layout of the whole screen, which changes nothing (the list's own height is the
    screen's to give): one more each key typed into the search."""


@dataclass(frozen=True, slots=True)
class Opened:
    """The conversation to open, and where: a message to scroll to, its trace unfolded or not,
    and the words searched for, to highlight in it."""

    conversation_id: int
    message_id: int | None = None
    in_trace: bool = False
    words: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Visit:
    """What the history screen returns: the conversation to open (None: back to the one shown),
    and the conversations deleted and renamed meanwhile."""

    opened: Opened | None
    deleted: frozenset[int]
    renamed: dict[int, str]


def _title(title: str) -> str:
    return strip_controls(title).strip() or "(untitled)"


def conversation_row(summary: ConversationSummary, now: float) -> Content:
    models = ", ".join(strip_controls(m) for m in summary.models) or strip_controls(summary.model or "-")
    count = f"{summary.message_count} message{'s' if summary.message_count != 1 else ''}"
    return Content.assemble(
        (column(_title(summary.title), TITLE_WIDTH), "bold"),
        "  ",
        (human_date(summary.updated_at, now).rjust(12), "$foreground-muted"),
        "\n",
        (f"{clip(models, TITLE_WIDTH)}  ·  {count}", "$foreground-muted"),
    )


def hit_row(hit: SearchHit, now: float, width: int = 100) -> Content:
    """A conversation that matches: its title, how many places match and when it was updated;
    under it which turn holds the best match, and the words around it (clipped to ``width``)."""
    where = WHERE_BADGES[hit.where]
    badge = where if hit.turn is None else f"turn {hit.turn} · {where}"
    badge_style = "bold $warning" if hit.where == "trace" else "bold $accent"
    snippet = Content(hit.snippet)
    for start, end in hit.matches:
        snippet = snippet.stylize("bold reverse", start, end)
    count = f"{hit.match_count} match{'es' if hit.match_count != 1 else ''}"
    return Content.assemble(
        # As wide as the list's titles where there is room, so the columns stay where they were.
        (column(_title(hit.conversation_title), max(min(width - COUNT_WIDTH - DATE_WIDTH - 4, TITLE_WIDTH), 12)), "bold"),
        "  ",
        (count.rjust(COUNT_WIDTH), "$foreground-muted"),
        "  ",
        (human_date(hit.updated_at, now).rjust(DATE_WIDTH), "$foreground-muted"),
        "\n",
        (badge, badge_style),
        "  ",
        snippet.truncate(max(width - cell_len(badge) - 2, 1), ellipsis=True),
    )


class HistoryScreen(Screen[Visit]):
    """Dismisses with the conversation to open, or None. ``deleted`` lists what was deleted."""

    CSS_PATH = "history.tcss"
    AUTO_FOCUS = "#search"
    # Priority: the search field would take these keys (submit, end of line, delete); it also
    # keeps them in this order in the footer.
    BINDINGS = [
        Binding("enter", "open", "Open", priority=True, id="history.open"),
        Binding("f2", "rename", "Rename", priority=True, id="history.rename"),
        Binding("ctrl+d", "delete", "Delete", priority=True, id="history.delete"),
        Binding("ctrl+e", "export", "Export", priority=True, id="history.export"),
        Binding("escape", "close", "Back", priority=True, id="history.close"),
        Binding("up", "list('cursor_up')", "Up", show=False, id="history.up"),
        Binding("down", "list('cursor_down')", "Down", show=False, id="history.down"),
        Binding("pageup", "list('page_up')", "Page up", show=False, id="history.page_up"),
        Binding("pagedown", "list('page_down')", "Page down", show=False, id="history.page_down"),
    ]

    def __init__(self, store: Store, current: int | None = None) -> None:
        super().__init__()
        self.store = store
        self.current = current  # the conversation the chat screen shows
        self.deleted: set[int] = set()
        self.renamed: dict[int, str] = {}
        self.conversations: dict[int, ConversationSummary] = {}
        self.hits: dict[str, SearchHit] = {}
        self.shown_query = ""  # what the rows on screen are the answer to ("": the history)
        self._had_choice = False  # whether the footer's keys were last refreshed with a row chosen
        self._fills = 0  # rows put in the list so far: rows to add to older ones are dropped

    def compose(self) -> ComposeResult:
        with Vertical(id="history"):
            yield Label(Content.styled("History", "bold"), id="heading")
            yield Input(placeholder="Search titles, prompts, answers and traces…", id="search")
            yield Rows(id="rows")
            yield Static(id="status", markup=False)
        yield KeysFooter()

    @property
    def rows(self) -> OptionList:
        return self.query_one("#rows", OptionList)

    @property
    def query_text(self) -> str:
        return self.query_one("#search", Input).value.strip()

    def on_mount(self) -> None:
        collector.hold()
        self.set_class(self.app.size.height < SHORT, "-short")
        self.refresh_rows()

    def on_resize(self) -> None:
        if self.has_class("-short") != (self.size.height < SHORT):
            self.set_class(self.size.height < SHORT, "-short")
            self.refresh_rows()

    def _set_status(self, text: str, problem: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(Content(text))
        status.set_class(problem, "-problem")

    # --- the rows ------------------------------------------------------------------------------

    def refresh_rows(self, keep: str | None = None) -> None:
        """Show the history (or the search hits for what is typed), keeping ``keep`` highlighted."""
        highlighted = self.rows.highlighted_option
        keep = keep or (highlighted.id if highlighted else None)
        if self.query_text:
            self.search(self.query_text, keep)
        else:
            self._show_history(keep)

    def _show_history(self, keep: str | None) -> None:
        try:
            summaries = self.store.list_conversations(PAGE)
        except StoreError as error:
            self._set_status(str(error), problem=True)
            return
        now = time.time()
        self.shown_query = ""
        self.conversations = {s.id: s for s in summaries}
        self.hits = {}
        # A screenful first, the rest once it is drawn (all 200 rows made and laid out before the
        # first frame were most of the time the screen took to open); all at once to keep a row
        # highlighted further down.
        first = self._screenful()
        split = first if keep not in {str(s.id) for s in summaries[first:]} else len(summaries)
        self._fill([Option(conversation_row(s, now), id=str(s.id)) for s in summaries[:split]], keep)
        if split < len(summaries):
            fills = self._fills
            self.call_after_refresh(lambda: self._more_rows(summaries[split:], now, fills))
        if not summaries:
            self._set_status("No conversations yet: the ones you have will be listed here.")
        else:
            more = f" (the newest {PAGE}; search finds the others)" if len(summaries) == PAGE else ""
            self._set_status(f"{len(summaries)} conversation{'s' if len(summaries) != 1 else ''}{more}")

    def _more_rows(self, summaries: list[ConversationSummary], now: float, fills: int) -> None:
        """The rest of the history below the rows drawn first, unless other rows replaced them."""
        if fills != self._fills:
            return
        self._add_rows([Option(conversation_row(summary, now), id=str(summary.id)) for summary in summaries])

    def _add_rows(self, options: list[Option]) -> None:
        """``options`` below the rows shown, each after a rule where there is room (as ``_fill``)."""
        spaced: list[Option | None] = []
        for option in options:
            spaced += [option] if self.has_class("-short") else [None, option]
        self.rows.add_options(spaced)

    def _fill(self, options: list[Option], keep: str | None) -> None:
        self._fills += 1
        rows = self.rows
        ids = [option.id for option in options]
        spaced: list[Option | None] = []
        for option in options:
            # A rule between two-line rows, where there is room: at 80x24 it took a third of it.
            spaced += [option] if self.has_class("-short") else [option, None]
        rows.set_options(spaced if self.has_class("-short") else spaced[:-1])
        if ids:
            rows.highlighted = ids.index(keep) if keep in ids else 0
        self._moved()  # an empty list highlights nothing, and says nothing of it

    @on(Input.Changed, "#search")
    def _typed(self) -> None:
        self.refresh_rows(keep=None)

    @work(group="search", exclusive=True, exit_on_error=False)
    async def search(self, text: str, keep: str | None = None) -> None:
        """The hits for ``text``: a screenful first, then the rest below them. Over a year of
        traces, the hundred hits' snippets and rows took three times as long as a screenful's."""
        await asyncio.sleep(SEARCH_DELAY)  # a newer keystroke cancels this one first
        width = self._row_width()
        first = self._screenful()
        hits = await self._hits(text, first, width)
        if hits is None:
            return
        # A new search starts at its best match; the same one again (after a rename) stays put.
        now = time.time()
        self._fill([self._hit_option(hit, now, width) for hit in self._note_hits(hits)],
                   keep if text == self.shown_query else None)
        self.shown_query = text
        if len(hits) < first:
            self._say_found(text, hits)
            return
        self._set_status("Best match first · Enter opens at the best match · looking for more…")
        fills = self._fills
        # The rest once the typing pauses: making their rows held up the next key's screenful.
        await asyncio.sleep(MORE_DELAY)
        more = await self._hits(text, SEARCH_LIMIT, width)
        if more is None or fills != self._fills:
            return
        if [hit.conversation_id for hit in more[: len(hits)]] == [hit.conversation_id for hit in hits]:
            self._add_rows([self._hit_option(hit, now, width) for hit in self._note_hits(more[len(hits):], keep=True)])
        else:  # the index changed meanwhile (another window saved): all of them, the row kept
            highlighted = self.rows.highlighted_option
            self._fill([self._hit_option(hit, now, width) for hit in self._note_hits(more)],
                       highlighted.id if highlighted else None)
        self._say_found(text, more)

    async def _hits(self, text: str, limit: int, width: int) -> list[SearchHit] | None:
        """The best ``limit`` conversations for ``text``, each with its best match and how many
        places match; None when a newer keystroke came first or the search failed (said)."""
        cancel = threading.Event()
        try:
            hits = await asyncio.to_thread(
                self.store.search, text, limit, per_conversation=1, snippet_chars=max(width - 20, 20), cancel=cancel,
            )
        except asyncio.CancelledError:
            cancel.set()  # a newer keystroke: the query stops now and frees the database for its own
            raise
        except SearchCancelled:
            return None
        except StoreError as error:
            self._set_status(str(error), problem=True)
            return None
        return hits if text == self.query_text else None

    def _note_hits(self, hits: list[SearchHit], keep: bool = False) -> list[SearchHit]:
        if not keep:
            self.hits = {}
        self.hits.update((str(hit.conversation_id), hit) for hit in hits)
        return hits

    @staticmethod
    def _hit_option(hit: SearchHit, now: float, width: int) -> Option:
        return Option(hit_row(hit, now, width), id=str(hit.conversation_id))

    def _say_found(self, text: str, hits: list[SearchHit]) -> None:
        if not hits:
            self._set_status(f"Nothing matches '{text}'.")
        else:
            count = len(hits)
            self._set_status(
                f"{count} conversation{'s' if count != 1 else ''} match{'' if count != 1 else 'es'}, best match first"
                " · Enter opens at the best match"
            )

    def _screenful(self) -> int:
        """Rows that fit on the screen (a row takes three lines at most), and two more."""
        return self.app.size.height // 3 + 2

    def _row_width(self) -> int:
        """Cells a row has for its text: the list's width less its border, padding and scroll bar."""
        rows = self.rows
        return max(rows.size.width - rows.styles.gutter.width - rows.styles.scrollbar_size_vertical - 2, 40)

    def _chosen(self) -> tuple[int, SearchHit | None] | None:
        option = self.rows.highlighted_option
        if option is None or option.id is None:
            return None
        hit = self.hits.get(option.id)
        return (hit.conversation_id, hit) if hit is not None else (int(option.id), None)

    def _chosen_title(self, conversation_id: int) -> str:
        if conversation_id in self.renamed:
            return self.renamed[conversation_id]
        summary = self.conversations.get(conversation_id)
        if summary is not None:
            return summary.title
        hit = next((h for h in self.hits.values() if h.conversation_id == conversation_id), None)
        return hit.conversation_title if hit else ""

    # --- keys --------------------------------------------------------------------------------

    def action_list(self, action: str) -> None:
        getattr(self.rows, f"action_{action}")()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open", "rename", "delete", "export") and self._chosen() is None:
            return None
        return True

    def action_close(self) -> None:
        self._leave(None)

    def on_unmount(self) -> None:
        # Back on the chat screen, once it is drawn: what was held while this screen was open.
        self.app.call_after_refresh(collector.collect_if_idle)

    def _leave(self, opened: Opened | None) -> None:
        self.dismiss(Visit(opened, frozenset(self.deleted), dict(self.renamed)))

    @on(OptionList.OptionSelected, "#rows")
    def _selected(self) -> None:
        self.action_open()

    @on(OptionList.OptionHighlighted, "#rows")
    def _moved(self) -> None:
        # The keys shown depend only on whether a row is chosen: refreshing them rebuilds the
        # footer, which on every move of a held key left the list seconds behind.
        chosen = self._chosen() is not None
        if chosen != self._had_choice:
            self._had_choice = chosen
            self.refresh_bindings()

    def action_open(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            return
        conversation_id, hit = chosen
        if hit is None or hit.message_id is None:
            self._leave(Opened(conversation_id))
        else:
            words = tuple(search_terms(self.shown_query))
            self._leave(Opened(conversation_id, hit.message_id, in_trace=hit.where == "trace", words=words))

    def action_rename(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            return
        conversation_id = chosen[0]

        def renamed(title: str | None) -> None:
            if title is None:
                return
            try:
                stored = self.store.rename_conversation(conversation_id, title)
            except StoreError as error:
                self.notify(str(error), title="Not renamed", severity="error", markup=False)
                return
            if stored is None:
                self.notify("That conversation no longer exists.", severity="warning")
            else:
                self.renamed[conversation_id] = stored
            self.refresh_rows()

        self.app.push_screen(RenameScreen(self._chosen_title(conversation_id)), renamed)

    def action_delete(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            return
        conversation_id = chosen[0]
        summary = self.conversations.get(conversation_id)
        count = summary.message_count if summary is not None else None

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.store.delete_conversation(conversation_id)
            except StoreError as error:
                self.notify(str(error), title="Not deleted", severity="error", markup=False)
                return
            self.deleted.add(conversation_id)
            self.notify(f"Deleted “{_title(self._chosen_title(conversation_id))}”", timeout=3, markup=False)
            self.refresh_rows()

        self.app.push_screen(ConfirmDeleteConversation(self._chosen_title(conversation_id), count), confirmed)

    def action_export(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            return
        try:
            conversation = self.store.load_conversation(chosen[0])
        except StoreError as error:
            self._set_status(str(error), problem=True)
            return
        if conversation is None:
            self.notify("That conversation no longer exists.", severity="warning")
            return
        self.app.push_screen(ExportScreen(conversation))


class RenameScreen(ModalScreen[str | None]):
    """A new title; Enter keeps it, Esc drops it. Blank goes back to the first prompt's title."""

    CSS_PATH = "history.tcss"
    AUTO_FOCUS = "#title"
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="rename.cancel")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.old_title = strip_controls(title)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Content.styled("Rename conversation", "bold"))
            yield Input(self.old_title, placeholder="Empty: named after its first prompt", id="title")
            yield Label(Content.styled("Enter saves · Esc cancels", "$foreground-muted"))

    @on(Input.Submitted, "#title")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)


class ConfirmDeleteConversation(Confirm):
    """"Delete “Why is the sky blue?”?  Removed for good: 4 messages and any reasoning traces." """

    BINDINGS = [
        Binding("y", "answer(True)", "Delete", id="confirm_delete_conversation.yes"),
        Binding("n,escape", "answer(False)", "Keep", id="confirm_delete_conversation.no"),
    ]

    def __init__(self, title: str, message_count: int | None) -> None:
        n = message_count
        what = "its prompts and answers" if n is None else f"{n} message{'s' if n != 1 else ''}"
        super().__init__(
            Content.assemble("Delete ", (f"“{clip(_title(title), TITLE_WIDTH)}”", "bold"), "?"),
            Content.styled(f"Removed for good: {what} and any reasoning traces.", "$foreground-muted"),
            yes="Delete", no="Keep",
        )


FORMATS = {"md": "Markdown (traces in <details> blocks)", "json": "JSON"}


class FormatButton(RadioButton):
    """A radio button with a dot only when chosen: Textual's draws a dot in every button and
    tells the chosen one by its colour alone, which reads as two chosen on many terminals."""

    def render(self) -> Content:
        self.BUTTON_INNER = "●" if self.value else " "
        return super().render()


class ExportScreen(ModalScreen[Path | None]):
    """Write one conversation to a file: Markdown or JSON, into the documents folder or a path.

    The suggested path never overwrites a file (a free name is picked when written); a path
    typed by the user that already exists is refused rather than replaced.
    """

    CSS_PATH = "history.tcss"
    AUTO_FOCUS = "#path"
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="export.cancel")]

    def __init__(self, conversation: Conversation) -> None:
        super().__init__()
        self.conversation = conversation
        self.format = "md"
        self.suggested = self._suggestion()

    def _suggestion(self) -> str:
        return str(export_dir() / file_name(self.conversation, self.format))

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            title = clip(_title(self.conversation.title), 60)
            yield Label(Content.assemble(("Export ", "bold"), (f"“{title}”", "bold")))
            with RadioSet(id="format"):
                for key, label in FORMATS.items():
                    yield FormatButton(label, value=key == self.format, name=key)
            yield Input(self.suggested, id="path")
            yield Static(id="error", markup=False)
            yield Label(Content.styled("Enter writes the file · Tab switches format · Esc cancels", "$foreground-muted"))

    @on(RadioSet.Changed, "#format")
    def _format_changed(self, event: RadioSet.Changed) -> None:
        self.format = event.pressed.name or "md"
        path = self.query_one("#path", Input)
        if path.value == self.suggested:
            self.suggested = path.value = self._suggestion()
        elif path.value.endswith((".md", ".json")):
            path.value = str(Path(path.value).with_suffix(f".{self.format}"))

    def _show_error(self, text: str) -> None:
        error = self.query_one("#error", Static)
        error.update(Content.styled(text, "$error"))
        error.display = True

    @on(Input.Submitted, "#path")
    def _submitted(self, event: Input.Submitted) -> None:
        typed = event.value.strip()
        try:
            if not typed or typed == self.suggested:
                path = save(self.conversation, self.format)  # a free name in the documents folder
            else:
                target = Path(typed).expanduser()
                if target.is_dir():
                    path = save(self.conversation, self.format, target)
                elif target.exists():
                    self._show_error(f"{target} already exists: choose another name (nothing was overwritten).")
                    return
                else:
                    try:
                        target.parent.mkdir(parents=True, exist_ok=True)
                    except OSError as exc:
                        raise ExportError(f"Cannot create {target.parent}: {exc.strerror or exc}") from None
                    write(target, render(self.conversation, self.format))
                    path = target
        except ExportError as error:
            self._show_error(str(error))
            return
        self.notify(f"Exported to {path}", title="Exported", timeout=6, markup=False)
        self.dismiss(path)

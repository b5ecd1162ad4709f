"""F1: what r1chat is, its keys by area as bound now, where its files are, what it warned about.

The keys come from the bindings themselves (each screen's and widget's ``BINDINGS``, with the
user's ``[keys]`` applied as Textual applies them) and their titles from the palette's
``TITLES``: one registry for keys, footer, palette and this screen. The prompt's editing keys
(Textual's TextArea) come last: a reader looks for r1chat's own first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from itertools import zip_longest
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingsMap
from textual.containers import VerticalScroll
from textual.content import Content
from textual.geometry import Size
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from r1chat import __version__
from r1chat.ui.commands import AREAS, TITLES, area_of
from r1chat.ui.keys import bindings_of, scopes
from r1chat.ui.widgets.footer import KeysFooter
from r1chat.ui.widgets.prompt import Prompt

ABOUT = "r1chat {version} · chat with reasoning models, their thinking shown live"
EDITING = "Editing the prompt"


@dataclass(frozen=True, slots=True)
class KeyRow:
    keys: str  # as a user writes them in [keys]: "ctrl+l", "f1", "ctrl+j, shift+enter"
    title: str
    help: str = ""
    binding_id: str | None = None


def _bound(cls: type, keymap: Mapping[str, str]) -> list[Binding]:
    """``cls``'s bindings (its bases' merged in) with the user's keys, one per binding, in order."""
    bindings = BindingsMap([binding for group in bindings_of(cls).values() for binding in group])
    bindings.apply_keymap(keymap)  # Textual's own remapping, as the screens get it
    joined: dict[int, tuple[Binding, list[str]]] = {}
    for key, group in bindings.key_to_bindings.items():
        for binding in group:
            # apply_keymap makes a copy per key: the id (or the action) joins them again.
            entry = joined.setdefault(hash((binding.id or binding.action, binding.description)), (binding, []))
            if key not in entry[1]:
                entry[1].append(key)
    return [replace(binding, key=", ".join(keys)) for binding, keys in joined.values()]


def _row(binding: Binding, where: str = "") -> KeyRow:
    title, help_text = TITLES.get(binding.id or "", (binding.description or binding.action, ""))
    return KeyRow(binding.key, f"{title} ({where})" if where else title, help_text, binding.id)


def key_areas(keymap: Mapping[str, str]) -> list[tuple[str, list[KeyRow]]]:
    """r1chat's keys by area, then the prompt's editing keys.

    On the chat screen every key is listed; on the other screens the ones with a palette title
    (their lists' cursor keys and the dialogs' own yes/no are in their footers).
    """
    areas: dict[str, list[KeyRow]] = {area: [] for area in AREAS}
    seen: set[str] = set()
    for number, scope in enumerate(scopes()):
        classes = (*scope.always, *(widget for widget, _ in scope.focus))
        for cls in classes:
            if not cls.__module__.startswith("r1chat."):
                continue
            for binding in _bound(cls, keymap):
                if binding.id is None or binding.id in seen or (number and binding.id not in TITLES):
                    continue
                seen.add(binding.id)
                where = f"in {scope.name}" if number else ""
                areas[area_of(binding.id)].append(_row(binding, where))
    editing = areas.setdefault(EDITING, [])
    for binding in _bound(Prompt, keymap):  # Textual's TextArea keys that the prompt keeps
        if binding.id is None and binding.description:
            editing.append(KeyRow(binding.key, binding.description))
    return [(area, rows) for area, rows in areas.items() if rows]


def shown_path(path: Path | None, none: str) -> str:
    """``~/.config/r1chat/config.toml``: shorter, so it fits on a line at 80 columns."""
    if path is None:
        return none
    try:
        return f"~/{path.relative_to(Path.home())}"
    except (ValueError, RuntimeError):  # elsewhere, or no home directory
        return str(path)


def palette_key(app: App) -> KeyRow:
    return KeyRow(app.COMMAND_PALETTE_BINDING, "Command palette", "Every action, searchable, with its key")


@dataclass(frozen=True, slots=True)
class HelpFacts:
    """What the help screen shows besides the keys: the app decides, the screen draws."""

    config: Path | None
    database: Path | None
    themes: Path | None
    layout: str  # the trace layout chosen, and what it gives now
    warnings: list[str]


class HelpScreen(Screen[None]):
    """Scrollable; Esc, q or the help key (f1) closes it."""

    CSS_PATH = "help.tcss"
    AUTO_FOCUS = "#help-body"
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Close", id="help.close")]

    def __init__(self, facts: HelpFacts) -> None:
        super().__init__()
        self.facts = facts

    def compose(self) -> ComposeResult:
        app = self.app
        facts = self.facts
        # The keymap as Textual holds it (its screens read the same attribute to remap their keys).
        closing = [b.key for cls in (type(app), HelpScreen) for b in _bound(cls, app._keymap)
                   if b.id in ("help", "help.close")]
        with VerticalScroll(id="help-body"):
            yield Static(Content.styled(ABOUT.format(version=__version__), "bold"), id="about")
            yield Static(Content.styled(
                f"Keys as bound now ([keys] in the config file remaps them by the id in brackets). "
                f"{', '.join(closing)} closes this.", "$foreground-muted"), classes="note")
            yield from self._section("Files", [
                KeyRow("config", shown_path(facts.config, "none (defaults)"),
                       "" if facts.config is None or facts.config.exists() else "not created yet: Settings (ctrl+s) writes it"),
                KeyRow("database", shown_path(facts.database, "none")),
                KeyRow("your themes", shown_path(facts.themes, "none")),
            ])
            yield from self._section("Warnings at start", [KeyRow("·", line) for line in facts.warnings]
                                     or [KeyRow("·", "none")])
            yield from self._section("Now", [KeyRow("trace layout", facts.layout)])
            for number, (area, rows) in enumerate(key_areas(app._keymap)):
                if number == 0:
                    rows = [palette_key(app), *rows]
                yield from self._section(area, rows)
        yield KeysFooter()

    def _section(self, title: str, rows: list[KeyRow]) -> ComposeResult:
        yield Static(Content.styled(title, "bold $accent"), classes="area")
        yield Rows(rows, classes="rows")


class Rows(Widget):
    """Keys in a column, what they do wrapped beside them. One widget per area, wrapped once per
    width: a Rich table (or a grid of widgets) per area made opening this screen take a second."""

    KEYS = 16

    def __init__(self, rows: list[KeyRow], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows = rows
        self._wrapped: tuple[int, list[Content]] = (-1, [])

    def _lines(self, width: int) -> list[Content]:
        if self._wrapped[0] == width:
            return self._wrapped[1]
        lines: list[Content] = []
        for row in self.rows:
            # Content pieces, not markup: a warning quotes what the user wrote in a file.
            parts: list[str | tuple[str, str]] = [row.title]
            if row.help:
                parts.append((f" · {row.help}", "$foreground-muted"))
            if row.binding_id:
                parts.append((f" [{row.binding_id}]", "$foreground-muted italic"))
            keys = Content.styled(row.keys, "bold").wrap(self.KEYS)
            what = Content.assemble(*parts).wrap(max(10, width - self.KEYS - 1))
            for key, text in zip_longest(keys, what, fillvalue=Content()):
                lines.append(Content.assemble(key.pad_right(self.KEYS + 1 - key.cell_length), text))
        self._wrapped = (width, lines)
        return lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))

    def render(self) -> Content:
        return Content("\n").join(self._lines(self.content_size.width))

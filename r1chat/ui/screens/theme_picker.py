"""The theme palette: moving through the list shows each theme at once; Enter keeps it, Esc goes back.

Textual's own theme palette changes the theme only on Enter and does not save it; this one
replaces it (``R1ChatApp.search_themes``), so the palette command "Theme" previews and saves.
"""

from __future__ import annotations

from functools import partial

from textual import on
from textual.command import Command, CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.timer import Timer
from textual.widgets import OptionList

from r1chat.config import config_path
from r1chat.config_write import ConfigWriteError, save_changes

# A theme change restyles every widget (about 30 ms on an idle machine): holding an arrow key
# previews the theme it stops on, not every one it passes.
PREVIEW_DELAY = 0.08


def remember_theme(app, name: str) -> None:
    """Use theme ``name`` and save it as ``[ui] theme`` in config.toml; say so if it cannot be saved."""
    app.theme = name
    settings = app.session.settings
    settings.ui.theme = name
    try:
        save_changes(settings.path or config_path(), {("ui", "theme"): name})
    except ConfigWriteError as error:
        app.notify(f"Theme {name} is used until you quit, but not saved. {error}",
                   severity="warning", timeout=12, markup=False)


class ThemeChoices(Provider):
    def _names(self) -> list[str]:
        current = self.app.theme
        return [current] + sorted(name for name in self.app.available_themes if name != current)

    async def discover(self) -> Hits:
        current = self.app.theme
        for name in self._names():
            yield DiscoveryHit(name, partial(remember_theme, self.app, name), text=name,
                               help="in use now" if name == current else None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name in self._names():
            if (score := matcher.match(name)) > 0:
                yield Hit(score, matcher.highlight(name), partial(remember_theme, self.app, name), text=name)


class ThemePalette(CommandPalette):
    def __init__(self) -> None:
        super().__init__(providers=[ThemeChoices], placeholder="Theme… ↑↓ preview · Enter keeps and saves · Esc goes back")
        self.before = ""
        self.chosen: str | None = None
        self._preview: Timer | None = None
        self._gone = False  # dismissed: a preview asked for after that (a late highlight) must not land

    def on_mount(self) -> None:
        self.before = self.app.theme

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        option = event.option
        if not isinstance(option, Command) or option.hit.text not in self.app.available_themes:
            return
        if self._preview is not None:
            self._preview.stop()
        self._preview = self.set_timer(PREVIEW_DELAY, partial(self._show, option.hit.text))

    def _show(self, name: str) -> None:
        if self.chosen is None and not self._gone and self.app.theme != name:
            self.app.theme = name

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if isinstance(event.option, Command):
            self.chosen = str(event.option.hit.text)

    def dismiss(self, result=None):
        self._gone = True
        if self._preview is not None:
            self._preview.stop()
        if self.chosen is None and self.app.theme != self.before:
            self.app.theme = self.before
        return super().dismiss(result)

"""The footer: the keys of the screen as bound now, drawn as one line, with the help key always
in sight."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

# The app's own F1, repeated on dialogs: a modal screen leaves the app's bindings out of reach
# (and out of the footer), so without it F1 did nothing in Settings or Pull. Same id: one
# remapping of ``help`` moves both.
DIM = Style(dim=True)
HELP = Binding("f1", "app.help", "Help", id="help")


@dataclass(frozen=True, slots=True)
class Key:
    """A key as the footer shows it."""

    key: str  # what pressing it sends
    display: str  # how it reads: "^q", "f1"
    description: str
    enabled: bool
    tooltip: str = ""


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    key: Key


class KeysFooter(Widget, can_focus=False):
    """The keys in one widget, compact (one space between keys): at 80 columns ctrl+q Quit fits.

    The help key comes first (Textual's footer listed the app's keys after the screen's, so at
    80 columns "f1 Help" was the first cut off, and with it the way to find every other key);
    the palette's key sits at the right edge; a key that does not fit whole is left out.

    Textual's footer made each key a widget and built them all again whenever the keys might have
    changed (every focus change): ten widgets that every layout pass of the screen arranged, a
    streaming answer's passes too, and a tenth of the time a screen took to open. Here a change
    of the keys redraws one line, and only when what it shows differs.
    """

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"footer-key--key", "footer-key--description", "footer-key--hover", "footer-key--edge"}
    DEFAULT_CSS = """
    KeysFooter {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        .footer-key--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .footer-key--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .footer-key--hover {
            background: $block-hover-background;
        }
        .footer-key--edge {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._keys: tuple[tuple[Key, ...], Key | None] | None = None  # what was drawn last
        self._spans: list[_Span] = []  # where each drawn key is, for the mouse
        self._hover: Key | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if screen is self.screen and self.is_attached and self.keys() != self._keys:
            self.refresh()

    def keys(self) -> tuple[tuple[Key, ...], Key | None]:
        """The keys shown (help first), one per action, and the palette's key if it shows."""
        active = self.screen.active_bindings
        shown: dict[str, Key] = {}
        for _node, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in shown:
                shown[binding.action] = Key(binding.key, self.app.get_key_display(binding), binding.description,
                                            enabled, tooltip)
        ordered = sorted(shown.items(), key=lambda item: item[0] not in ("help", "app.help"))  # stable
        palette = None
        app = self.app
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _node, binding, enabled, tooltip = active[app.COMMAND_PALETTE_BINDING]
            palette = Key(binding.key, app.get_key_display(binding), binding.description, enabled,
                          binding.tooltip or binding.description)
        return tuple(key for _action, key in ordered), palette

    def render_line(self, y: int) -> Strip:
        keys, palette = self._keys = self.keys()
        width = self.size.width
        base = self.rich_style
        key_style = base + self.get_component_rich_style("footer-key--key")
        description_style = base + self.get_component_rich_style("footer-key--description")
        hover = Style(bgcolor=self.get_component_rich_style("footer-key--hover").bgcolor)
        blank = Style(bgcolor=base.bgcolor)  # between keys, as Textual's footer had it
        segments: list[Segment] = []
        spans: list[_Span] = []
        x = 0

        def add(text: str, style: Style) -> None:
            nonlocal x
            if not text:
                return
            segments.append(Segment(text, style))
            x += cell_len(text)

        def add_key(key: Key) -> None:
            start = x
            styles = [key_style, description_style]
            if key == self._hover:
                styles = [style + hover for style in styles]
            if not key.enabled:
                styles = [style + DIM for style in styles]
            add(key.display, styles[0])
            if key.description:
                add(" " + key.description, styles[1])
            spans.append(_Span(start, x, key))

        right = 0 if palette is None else _width(palette) + 2  # its edge, and a space after it
        for key in keys:
            gap = 1 if spans else 0
            if x + gap + _width(key) > width - right:
                break
            add(" " * gap, blank)
            add_key(key)
        if palette is not None and width >= right:
            add(" " * (width - right - x), blank)
            add("▏", base + self.get_component_rich_style("footer-key--edge"))
            add_key(palette)
        add(" " * (width - x), blank)
        self._spans = spans
        return Strip(segments, width).crop(0, width) if y == 0 else Strip.blank(width, blank)

    def _key_at(self, x: int) -> Key | None:
        return next((span.key for span in self._spans if span.start <= x < span.end), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        key = self._key_at(event.x)
        if key != self._hover:
            self._hover = key
            self.tooltip = key.tooltip if key is not None and key.tooltip else None
            self.refresh()

    def on_leave(self, event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.tooltip = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        key = self._key_at(event.x)
        if key is None:
            return
        if key.enabled:
            self.app.simulate_key(key.key)
        else:
            self.app.bell()


def _width(key: Key) -> int:
    return cell_len(key.display) + (cell_len(key.description) + 1 if key.description else 0)

"""Model text as Markdown: live while it streams, drawn once when it is finished."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from rich.theme import Theme as RichTheme
from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget

from r1chat.latex import ReadableStream, readable
from r1chat.markdown_parts import closes_fence, fence_marker
from r1chat.sanitize import strip_controls
from r1chat.search import term_spans
from r1chat.ui.widgets.frames import FPS, frames
from r1chat.ui.widgets.one_pass import Holder, OnePass

if TYPE_CHECKING:
    from rich.markdown import Markdown as RichMarkdown


def rendered(text: str) -> RichMarkdown:
    """A finished text, drawn once: one widget however long, control sequences stripped, simple
    LaTeX shown as text, no clickable links (links open only from the "Open a link" command)."""
    return _markdown(readable(strip_controls(text)))


def _markdown(text: str) -> RichMarkdown:
    # Imported when first needed: with markdown-it and Pygments it is a twentieth of a second
    # that an empty chat screen need not wait for.
    from rich.markdown import Markdown as RichMarkdown

    return RichMarkdown(text, hyperlinks=False, code_theme="monokai")


def warm_up() -> None:
    """Import and prepare what drawing Markdown takes (markdown-it, Rich's Markdown, Pygments and
    its Python lexer: about 40 ms), so that it is not a pause in the first answer's first words.
    Meant for a thread, while the app is idle: a Console of its own, writing nowhere."""
    from rich.console import Console

    sample = "# a\n\n- b\n\n> c\n\n| d |\n|---|\n| e |\n\n```python\nf = 1\n```\n"
    Console(file=io.StringIO(), width=40).print(_markdown(sample))


def whole_blocks(text: str, limit: int | None = None) -> tuple[int, int | None]:
    """How much of ``text`` is whole Markdown blocks, and where an unclosed code fence starts.

    A block is whole once a blank line follows it outside a code fence, or once its fence is
    closed. The end of a paragraph, list or table may be extended by the very next line, so
    only a blank line (or a closing fence) says it is over. With ``limit``, the count stops at
    the first block end at or past it (and no fence start is given).
    """
    whole = 0
    fence: str | None = None
    fence_at: int | None = None
    pos = 0
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # the line being written
        bare = line.rstrip("\r\n")
        if fence is None:
            if marker := fence_marker(bare):
                fence, fence_at = marker, pos
            elif not bare.strip():
                whole = pos + len(line)
        elif closes_fence(bare, fence):
            fence, fence_at = None, None
            whole = pos + len(line)
        pos += len(line)
        if limit is not None and whole >= limit:
            return whole, None
    return whole, fence_at


def _with_plain_fence(text: str, fence_at: int) -> str:
    """The text with its open fence's language dropped: Pygments would re-highlight the whole
    fence on every frame (about 35 ms a frame on a 300-line fence, textual-notes §1)."""
    line_end = text.find("\n", fence_at)
    line = text[fence_at:line_end]
    marker = fence_marker(line)
    assert marker is not None
    return text[:fence_at] + line[: line.index(marker) + len(marker)] + text[line_end:]


class _AfterPiece:
    """Markdown that goes on from the piece above it. Pieces are blocks of one text, so one blank
    line goes between them, as Rich puts between any two blocks; Rich starts a list, a quote or
    a table with that line itself, and then it is not added again."""

    def __init__(self, markdown: RichMarkdown) -> None:
        self.markdown = markdown

    def __rich_console__(self, console, options):
        segments = iter(console.render(self.markdown, options))
        first = next(segments, None)
        if first is None:
            return
        if first.text != "\n":
            yield Segment.line()
        yield first
        yield from segments


def _spaced(markdown: RichMarkdown, *, after_piece: bool):
    return _AfterPiece(markdown) if after_piece else markdown


_styles_of_theme: dict[str, tuple[RichTheme, str]] = {}


def _styles(app) -> tuple[RichTheme, str]:
    """Rich's Markdown styles in the colours of the app's theme, and the Pygments style of code
    blocks. Rich's own are made for a dark terminal (inline code bold cyan on black, yellow
    bullets, magenta quotes): in a light theme inline code was a black patch in the text."""
    name = app.theme
    if (styles := _styles_of_theme.get(name)) is None:
        variables = app.theme_variables
        background = Color.parse(variables["background"])

        def colour(variable: str) -> str:
            return (background + Color.parse(variables[variable])).hex  # any alpha, on the background

        accent, primary = colour("text-accent"), colour("text-primary")
        rich_theme = RichTheme({
            "markdown.code": f"bold {accent} on {colour('panel')}",
            "markdown.item.bullet": f"bold {accent}",
            "markdown.item.number": f"bold {accent}",
            "markdown.block_quote": colour("text-secondary"),
            "markdown.hr": colour("text-secondary"),
            "markdown.link": primary,
            "markdown.link_url": f"underline {primary}",
            "markdown.h1": f"bold {colour('markdown-h1-color')}",
            "markdown.h1.border": colour("markdown-h1-color"),
            "markdown.h2": f"bold underline {colour('markdown-h2-color')}",
            "markdown.h3": f"bold {colour('markdown-h3-color')}",
            "markdown.table.header": f"bold {primary}",
            "markdown.table.border": colour("text-secondary"),
        })
        styles = _styles_of_theme[name] = (rich_theme, "monokai" if app.current_theme.dark else "friendly")
    return styles


def found_style(app) -> str:
    """How the words of a search show in the message it opened: on the theme's accent, in the
    text colour that reads on it (a style of colours, not of variables: Rich draws the lines)."""
    variables = app.theme_variables
    background = Color.parse(variables["background"]) + Color.parse(variables["accent"])
    return f"bold {background.get_contrast_text(1.0).hex} on {background.hex}"


def _highlighted(line: list[Segment], spans: list[tuple[int, int]], style: Style) -> list[Segment]:
    """The line with the characters in ``spans`` (offsets into its text) also in ``style``."""
    cuts = sorted({cut for span in spans for cut in span})
    out, start = [], 0
    for segment in line:
        text, end = segment.text, start + len(segment.text)
        bounds = [0, *(cut - start for cut in cuts if start < cut < end), len(text)]
        for a, b in zip(bounds, bounds[1:], strict=False):
            inside = any(s <= start + a < e for s, e in spans)
            out.append(Segment(text[a:b], (segment.style or Style()) + style if inside else segment.style))
        start = end
    return out


class Lines(OnePass, Widget):
    """Text rendered to lines once for its width: measuring it and drawing it share them. (A
    Static renders its Markdown to measure it, and again to draw it.) A finished answer or
    trace is one; so are the pieces of a streaming text."""

    DEFAULT_CSS = "Lines { height: auto; }"

    def __init__(self, renderable=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self._renderable = Text("") if renderable is None else renderable
        self._lines: list[Strip] = []
        self._width: int | None = None  # what the lines were rendered for
        self.marked: tuple[str, ...] = ()  # a search's words, highlighted where they show
        self._drawn_with: tuple[str, Style] | None = None  # the theme and style the lines have

    def mark(self, words: tuple[str, ...]) -> None:
        """Highlight ``words`` where the drawn text has them (``term_spans``); () for none."""
        if words != self.marked:
            self.marked, self._width = words, None
            self.refresh()

    def show(self, renderable, width: int, style: Style | None = None) -> int:
        """Draw ``renderable`` at ``width`` from the next frame on; returns its number of lines.
        ``style`` is the one it inherits, for a widget not mounted yet."""
        before = self._lines if self._width == width and self.is_mounted else None
        self._renderable, self._width = renderable, None
        lines = self._lines_for(width, style)
        if before is None:
            self.refresh(layout=self._sized_by_lines)
        elif len(before) != len(lines) and self._sized_by_lines:
            self.refresh(layout=True)
        else:
            # Most frames change the last line or two: repaint those, not the whole block.
            changed = [
                Region(0, y, width, 1)
                for y in range(max(len(before), len(lines)))  # a line no longer there is blanked
                if y >= len(before) or y >= len(lines) or before[y] != lines[y]
            ]
            if changed:
                self.refresh(*changed)
        return len(lines)

    @property
    def _sized_by_lines(self) -> bool:
        height = self.styles.height
        return height is None or height.is_auto

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected text as it reads on screen (Textual's own way renders the widget anew)."""
        return selection.extract("\n".join(line.text.rstrip() for line in self._lines)), "\n"

    def _lines_for(self, width: int, style: Style | None = None) -> list[Strip]:
        if width != self._width:
            self._lines = self._draw_lines(self._renderable, width, style)
            self._width = width
        return self._lines

    def _draw_lines(self, renderable, width: int, style: Style | None = None) -> list[Strip]:
        self._drawn_with = self._style_key(style)
        console = self.app.console
        options = console.options.update_width(width)
        style = self.rich_style if style is None else style
        rich_theme, code_theme = _styles(self.app)
        markdown = renderable.markdown if isinstance(renderable, _AfterPiece) else renderable
        if hasattr(markdown, "code_theme"):  # read when its code blocks are drawn
            markdown.code_theme = code_theme
        with console.use_theme(rich_theme):
            lines = console.render_lines(renderable, options, style=style)
        if self.marked:
            # On the drawn lines, not the Markdown: the words as they read (no ``**``), and
            # the text is never parsed again with anything of the search in it.
            found = Style.parse(found_style(self.app))
            lines = [_highlighted(line, term_spans("".join(s.text for s in line), self.marked), found) for line in lines]
        return [Strip(line, width) for line in lines]

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # Another theme, other colours: drawn again. Not when only other rules changed (a folded
        # trace's class): unfolding a 100,000-token trace drew all of its Markdown again.
        if self._width is not None and self._drawn_with != self._style_key():
            self._width = None

    def _style_key(self, style: Style | None = None) -> tuple[str, Style]:
        return self.app.theme, self.rich_style if style is None else style

    def show_later(self, renderable) -> None:
        """Draw ``renderable``, rendered by the layout pass that measures it."""
        self._renderable, self._width = renderable, None
        self.refresh(layout=True)

    def height_at(self, width: int) -> int:
        return len(self._lines_for(width))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.height_at(width)

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        lines = self._lines_for(width)
        return lines[y] if y < len(lines) else Strip.blank(width, self.rich_style)


class Archive(Lines):
    """The whole pieces of a long streaming text, as one widget: they keep the lines they were
    drawn with. Each widget costs every layout pass of the screen some work, and a pass comes
    every few lines of text: with a widget per piece, a 100,000-token trace (200 pieces) made each
    pass, and each ctrl+t that folds it, slower as it grew."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._parts: list = []  # the pieces' renderables, in order

    @property
    def parts(self) -> int:
        return len(self._parts)

    def take(self, piece: Lines, width: int | None) -> None:
        """Add ``piece`` below the rest, with the lines it has when they are for ``width``."""
        self._parts.append(piece._renderable)
        if width is not None and width == self._width == piece._width and piece.marked == self.marked:
            self._lines = self._lines + piece._lines
        else:
            self._width = None  # all drawn again, for the width it is shown at
        self.refresh(layout=True)

    def _lines_for(self, width: int, style: Style | None = None) -> list[Strip]:
        if width != self._width:
            self._lines = [line for part in self._parts for line in self._draw_lines(part, width, style)]
            self._width = width
        return self._lines


class LiveText(Holder, Vertical):
    """Markdown that streams in at any speed and costs about the same at every length.

    Textual's own Markdown widget makes every block a widget, and each frame with a layout
    pass re-arranges every widget on the screen, so a long trace made each frame slower
    (textual-notes §1, §6). Here whole blocks are drawn once, into a few pieces of at most
    ``PIECE`` characters, rendered once for their width; only the block still being written is
    drawn again, on the app's frames (``FPS`` a second, one screen update for every text and
    clock that changes), repainting only the lines that changed, and without a layout pass until
    the text needs more lines than it has. A code fence ends its piece, so it is highlighted
    once, when it closes.
    """

    FPS = FPS
    PIECE = 2000
    # The text grows by a fifth of the screen's height at a time (within these bounds): each
    # step scrolls the conversation, and a scroll repaints the whole screen.
    ROOM = (3, 8)
    # Whole blocks drawn in one frame, at most (about): a fast stream that fell behind catches
    # up over a few frames, each a few tens of milliseconds, instead of in one long one.
    BUDGET = 2000
    # Pieces kept as widgets of their own, at most: the ones above go into one ``Archive``.
    LOOSE = 4

    def __init__(self, text: str = "", *, on_frame: Callable[[], None] | None = None, **kwargs) -> None:
        """``on_frame`` is called on each of this text's frames while it streams, so that what
        changes with it (a clock) is drawn in the same screen update, not one of its own."""
        super().__init__(**kwargs)
        self._tail_height = 0
        self._on_frame = on_frame
        self._catching_up = False  # a backlog is being drawn, a part after each screen update
        self._finishing = False  # finish draws the rest: frames draw nothing
        self._finished = False  # finish has drawn all of it
        self._in_column = False  # in a compare turn's column (set once mounted)
        self._tail = Lines(classes="live-tail")  # the block being written, below the pieces
        self._tail.display = False  # shown with the first words
        self._start()
        if text:
            self.write(text)

    def _start(self) -> None:
        """No text yet (``finish`` starts again when it is given other text)."""
        self._written: list[str] = []  # pieces, not one string: += would copy it per token
        self._readable = ReadableStream()
        self._pending: list[str] = []
        self._open = ""  # readable text not yet in a piece: the block being written
        self._pieces: list[Lines] = []  # whole blocks go into the last
        self._archive: Archive | None = None  # the pieces above the last few, as one widget
        self._piece_text = ""
        self._piece_full = False
        self._stale = False  # text arrived that is not drawn yet

    @property
    def text(self) -> str:
        """All written so far, as written."""
        return "".join(self._written)

    def compose(self) -> ComposeResult:
        yield self._tail

    def on_mount(self) -> None:
        self._in_column = any(node.has_class("compare-column") for node in self.ancestors)
        frames(self.app).join(self._frame)  # until it finishes
        self.call_after_refresh(self._flush)
        if self.styles.overflow_y in ("auto", "scroll"):  # kept to a few lines (a compare column's trace)
            self.anchor()  # following its newest text until the reader scrolls it

    def on_unmount(self) -> None:
        frames(self.app).leave(self._frame)

    def write(self, text: str) -> None:
        self._written.append(text)
        if text := self._readable.feed(text):
            self._pending.append(text)

    @property
    def finished(self) -> bool:
        """The stream is over and ``finish`` has drawn all of its text."""
        return self._finished

    @property
    def drawn(self) -> bool:
        """Everything written so far is on screen (but text ``ReadableStream`` holds back)."""
        return not self._pending and not self._stale

    def on_show(self) -> None:
        self._tail_height = -1  # hidden until now: measure afresh
        self._stale = True
        self._flush()

    def _frame(self) -> None:
        if self._on_frame is not None:
            self._on_frame()
        if not self._catching_up:  # its next part is on its way
            self._flush()

    def _catch_up(self) -> None:
        self._catching_up = False
        self._flush()

    def _flush(self) -> None:
        if self._finishing:
            return
        if self._pending:
            self._open += "".join(self._pending)
            self._pending.clear()
            self._stale = True
        # A folded trace is drawn when it is shown.
        if self._stale and self.display and self.is_mounted:
            self._stale = False
            self._draw()

    def _draw(self) -> None:
        tail = self._tail
        if tail.parent is not self:  # a frame while the text is taken down (its children go first)
            return
        width = self.content_size.width
        if not width:  # drawn on the first frame that has a size
            self._stale = True
            return
        whole, fence_at = whole_blocks(self._open, self.BUDGET)
        if whole:
            self._take(whole, width)
            fence_at = None if fence_at is None else fence_at - whole
        if whole >= self.BUDGET:
            # Behind: a part now, the rest on the next frames. The block being written would be
            # drawn from text those frames move into pieces: it waits, blank, in the room it has.
            self._stale = True
            if tail.display:
                tail.show(Text(""), width)
            if not self._catching_up:
                self._catching_up = True
                self.call_after_refresh(self._catch_up)
            return
        lines = self._draw_tail(tail, fence_at, width)
        # The text grows a few lines at a time, the block being written taking up the slack:
        # most frames only add words to its last line, and a block that ends (moving from the
        # tail into a piece) changes no height outside this widget. A layout pass that scrolls
        # the conversation (and repaints the whole screen) comes once every few lines.
        above = sum(piece.height_at(width) for piece in self._pieces)
        if self._archive is not None:
            above += self._archive.height_at(width)
        step = min(max(self.ROOM[0], self.screen.size.height // 5), self.ROOM[1])
        if self.has_class("trace-body") and self.screen.has_class("-side"):
            # Side by side (chat.tcss), a trace streams beside an answer not begun: its room
            # showed as up to 7 blank lines with nothing beside them. A line at a time there
            # (a layout pass per line, at most FPS a second, while the trace streams).
            step = 1
        elif self._in_column:
            # In a compare turn's column (widgets/compare.py) the room showed as blank lines in
            # a frame beside the other models' answers: two lines at a time there.
            step = 2
        room = -(-(above + lines) // step) * step - above if lines else 0
        if room != self._tail_height:
            tail.styles.height = room
            self._tail_height = room

    def _take(self, length: int, width: int | None) -> None:
        """Move the first ``length`` characters, whole blocks, into a piece."""
        text, self._open = self._open[:length], self._open[length:]
        if not text:
            return
        # A piece is drawn again whole when text joins it: at most about PIECE characters at a time.
        new = not self._pieces or self._piece_full or len(self._piece_text) + len(text) > self.PIECE
        self._piece_text = text if new else self._piece_text + text
        self._piece_full = any(fence_marker(line) for line in text.splitlines())
        drawn = _spaced(_markdown(self._piece_text), after_piece=len(self._pieces) > int(not new))
        if new:
            if len(self._pieces) >= self.LOOSE:
                self._archive_oldest(width)
            piece = Lines(classes="live-piece")
            self._pieces.append(piece)
            self.mount(piece, before=self._tail)
        piece = self._pieces[-1]
        if width is None:
            piece.show_later(drawn)
        else:
            piece.show(drawn, width, self.rich_style)

    def _archive_oldest(self, width: int | None) -> None:
        """Move the oldest piece into the archive (no piece but the last ever changes)."""
        piece = self._pieces.pop(0)
        if self._archive is None:
            self._archive = Archive(classes="live-piece")
            self.mount(self._archive, before=piece)
        self._archive.take(piece, width)
        piece.remove()

    def _draw_tail(self, tail: Lines, fence_at: int | None, width: int) -> int:
        """Draw the text not yet in a piece; returns its number of lines."""
        text = self._open if fence_at is None else _with_plain_fence(self._open, fence_at)
        if not text.strip():
            if not tail.display:
                return 0
            # Between two blocks: blank, in the room it has (hiding it, then showing it again a
            # frame later, would be two layout passes for each paragraph).
            return tail.show(Text(""), width)
        tail.display = True
        return tail.show(_spaced(_markdown(text), after_piece=bool(self._pieces)), width)

    def on_resize(self) -> None:
        self._tail_height = -1  # lines wrap anew
        self._stale = True

    async def finish(self, text: str | None = None) -> None:
        """The stream is over: draw what is left as whole blocks, highlighted. ``text``, when it
        is not what was written (a guessed trace that was the answer, say), is drawn instead."""
        frames(self.app).leave(self._frame)
        self._finishing = True
        if text is not None and (text := strip_controls(text)) != self.text:
            for piece in [*self._pieces, *([self._archive] if self._archive else [])]:
                piece.remove()
            self._start()
            self.write(text)
        self._pending.append(self._readable.close())
        self._open += "".join(self._pending)
        self._pending.clear()
        width = self.content_size.width or None  # None: not laid out yet, drawn when it is
        while self._open:  # pieces of the usual size
            whole = whole_blocks(self._open, self.BUDGET)[0]
            self._take(whole if whole >= self.BUDGET else len(self._open), width)
            if self._open:
                # A backlog: other work gets a turn between two pieces. A timer, not sleep(0),
                # which would go before timers already due (a key's repeat, a clock).
                await asyncio.sleep(0.001)
        self._tail.display = False
        self._finishing = False
        self._finished = True

"""Model text as Markdown: live while it streams, drawn once when it is finished."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from r1chat.latex import ReadableStream, readable
from r1chat.markdown_parts import closes_fence, fence_marker
from r1chat.sanitize import strip_controls

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


def whole_blocks(text: str) -> tuple[int, int | None]:
    """How much of ``text`` is whole Markdown blocks, and where an unclosed code fence starts.

    A block is whole once a blank line follows it outside a code fence, or once its fence is
    closed. The end of a paragraph, list or table may be extended by the very next line, so
    only a blank line (or a closing fence) says it is over.
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
    return whole, fence_at


def _with_plain_fence(text: str, fence_at: int) -> str:
    """The text with its open fence's language dropped: Pygments would re-highlight the whole
    fence on every frame (about 35 ms a frame on a 300-line fence, textual-notes §1)."""
    line_end = text.find("\n", fence_at)
    line = text[fence_at:line_end]
    marker = fence_marker(line)
    assert marker is not None
    return text[:fence_at] + line[: line.index(marker) + len(marker)] + text[line_end:]


def _spaced(markdown: RichMarkdown, *, after_piece: bool):
    """Pieces are blocks of one text: a blank line between them, as between any two blocks."""
    return Group(Text(""), markdown) if after_piece else markdown


class _Tail(Widget):
    """The block being written, as lines rendered once: measuring it and drawing it share them
    (a Static would render the Markdown again to draw it)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._lines: list[Strip] = []

    def show(self, renderable, width: int) -> int:
        """Render at ``width``, draw on the next frame; returns the number of lines."""
        console = self.app.console
        lines = console.render_lines(renderable, console.options.update_width(width), style=self.rich_style)
        self._lines = [Strip(line, width) for line in lines]
        self.refresh()
        return len(self._lines)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines)

    def render_line(self, y: int) -> Strip:
        return self._lines[y] if y < len(self._lines) else Strip.blank(self.size.width, self.rich_style)


class LiveText(Vertical):
    """Markdown that streams in at any speed and costs about the same at every length.

    Textual's own Markdown widget makes every block a widget, and each frame with a layout
    pass re-arranges every widget on the screen, so a long trace made each frame slower
    (textual-notes §1, §6). Here whole blocks are drawn once, into a few pieces of at most
    ``PIECE`` characters; only the block still being written is drawn again, at most ``FPS``
    times a second, and without a layout pass until it needs more lines than it has. A code
    fence ends its piece, so it is highlighted once, when it closes.
    """

    FPS = 8
    PIECE = 2000
    ROOM = 4

    def __init__(self, text: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self._tail_height = 0
        self._timer = None
        self._start()
        if text:
            self.write(text)

    def _start(self) -> None:
        """No text yet (``finish`` starts again when it is given other text)."""
        self._written: list[str] = []  # pieces, not one string: += would copy it per token
        self._readable = ReadableStream()
        self._pending: list[str] = []
        self._open = ""  # readable text not yet in a piece: the block being written
        self._piece: Static | None = None  # the piece whole blocks go into
        self._pieces = 0
        self._piece_text = ""
        self._piece_full = False
        self._stale = False  # text arrived that is not drawn yet

    @property
    def text(self) -> str:
        """All written so far, as written."""
        return "".join(self._written)

    def compose(self) -> ComposeResult:
        tail = _Tail(classes="live-tail")
        tail.display = False  # shown with the first words
        yield tail

    def on_mount(self) -> None:
        self._timer = self.set_interval(1 / self.FPS, self._flush)
        self.call_after_refresh(self._flush)

    def write(self, text: str) -> None:
        self._written.append(text)
        if text := self._readable.feed(text):
            self._pending.append(text)

    @property
    def drawn(self) -> bool:
        """Everything written so far is on screen (but text ``ReadableStream`` holds back)."""
        return not self._pending and not self._stale

    def on_show(self) -> None:
        self._tail_height = -1  # hidden until now: measure afresh
        self._stale = True
        self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._open += "".join(self._pending)
            self._pending.clear()
            self._stale = True
        # A folded trace is drawn when it is shown.
        if self._stale and self.display and self.is_mounted:
            self._stale = False
            self._draw(final=False)

    def _draw(self, *, final: bool) -> None:
        whole, fence_at = (len(self._open), None) if final else whole_blocks(self._open)
        if whole:
            self._add_whole(self._open[:whole])
            self._open = self._open[whole:]
            fence_at = None if fence_at is None else fence_at - whole
        self._draw_tail(self._open if fence_at is None else _with_plain_fence(self._open, fence_at), final=final)

    def _add_whole(self, text: str) -> None:
        new = self._piece is None or self._piece_full or len(self._piece_text) >= self.PIECE
        self._piece_text = text if new else self._piece_text + text
        self._piece_full = any(fence_marker(line) for line in text.splitlines())
        drawn = _spaced(_markdown(self._piece_text), after_piece=self._pieces > int(not new))
        if new:
            self._pieces += 1
            self._piece = Static(drawn, classes="live-piece")
            self.mount(self._piece, before=self.query_one(".live-tail"))
        else:
            self._piece.update(drawn)

    def _draw_tail(self, text: str, *, final: bool = False) -> None:
        tail = self.query_one(".live-tail", _Tail)
        if final or (not text.strip() and not tail.display):
            tail.display = False
            return
        if not text.strip():
            # Between two blocks: blank, in the room it has (hiding it, then showing it again a
            # frame later, would be two layout passes for each paragraph).
            renderable = Text("")
        else:
            renderable = _spaced(_markdown(text), after_piece=self._piece is not None)
        tail.display = True
        width = tail.content_region.width or self.content_region.width
        if not width:  # not laid out yet: drawn on the first frame that has a size
            self._stale = True
            return
        # Most frames add words to the last line. The block gets its lines ``ROOM`` at a time, so
        # a layout pass (and the scroll after it, which repaints the screen) comes once every
        # few lines, not on every line.
        room = -(-tail.show(renderable, width) // self.ROOM) * self.ROOM
        if room != self._tail_height:
            tail.styles.height = room
            self._tail_height = room

    def on_resize(self) -> None:
        self._tail_height = -1  # lines wrap anew
        self._stale = True

    def finish(self, text: str | None = None) -> None:
        """The stream is over: draw what is left as whole blocks, highlighted. ``text``, when it
        is not what was written (a guessed trace that was the answer, say), is drawn instead."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if text is not None and (text := strip_controls(text)) != self.text:
            for piece in self.query(".live-piece"):
                piece.remove()
            self._start()
            self.write(text)
        self._pending.append(self._readable.close())
        self._open += "".join(self._pending)
        self._pending.clear()
        self._draw(final=True)

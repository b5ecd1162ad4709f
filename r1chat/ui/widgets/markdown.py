"""Model text as Markdown: live while it streams, drawn once when it is finished."""

from __future__ import annotations

from rich.markdown import Markdown as RichMarkdown
from textual.content import Content
from textual.widgets import Markdown
from textual.widgets._markdown import MarkdownFence

from r1chat.latex import ReadableStream, readable
from r1chat.sanitize import strip_controls


def rendered(text: str) -> RichMarkdown:
    """A finished text, drawn once: one widget however long, control sequences stripped, simple
    LaTeX shown as text, no clickable links (links open only from the "Open a link" command)."""
    return RichMarkdown(readable(strip_controls(text)), hyperlinks=False, code_theme="monokai")


class PlainFence(MarkdownFence):
    """A code block shown without colours while it streams.

    Each append re-highlights the whole open fence with Pygments (about 35 ms an append on a
    300-line fence, textual-notes §1); the finished message is drawn once, highlighted.
    """

    @classmethod
    def highlight(cls, code: str, language: str, ansi: bool = False, dark: bool = False) -> Content:
        return Content(code)


class LiveMarkdown(Markdown):
    BLOCKS = {**Markdown.BLOCKS, "fence": PlainFence, "code_block": PlainFence}

    def __init__(self, markdown: str = "", **kwargs) -> None:
        # Links are never followed on their own: the screen decides on an explicit click.
        super().__init__(markdown, open_links=False, **kwargs)


class BatchedStream:
    """Feeds a live Markdown widget at most ``FPS`` times a second, however fast text arrives.

    Every append re-parses and re-lays-out the widget's last block, so one append per token
    caps a stream at a few hundred tokens a second; one per frame keeps up with any server.
    Simple LaTeX is shown as text on the way (``ReadableStream`` holds back a formula until
    it is whole), so the live text reads as the finished one will.
    """

    FPS = 30

    def __init__(self, widget: Markdown) -> None:
        self._pending: list[str] = []
        self._readable = ReadableStream()
        self._stream = Markdown.get_stream(widget)
        self._timer = widget.set_interval(1 / self.FPS, self._flush)

    def write(self, text: str) -> None:
        if text := self._readable.feed(text):
            self._pending.append(text)

    async def _flush(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            await self._stream.write(text)

    async def stop(self, *, discard: bool = False) -> None:
        """Write what is still pending and end the stream.

        ``discard``: the widget is about to be replaced by the finished text, so laying out the
        pending text in it (hundreds of blocks after a fast stream) would be wasted.
        """
        self._timer.stop()
        if discard:
            self._pending.clear()
        else:
            self._pending.append(self._readable.close())
            await self._flush()
        await self._stream.stop()

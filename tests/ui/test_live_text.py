"""The streaming text widget on its own: a backlog drawn over several frames, pieces that follow
the width and the theme, lines repainted only where they changed."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.color import Color

from r1chat.conversation import ToolCallPart
from r1chat.ui.widgets import tool_call
from r1chat.ui.widgets.markdown import Archive, Lines, LiveText, rendered, whole_blocks
from r1chat.ui.widgets.tool_call import ToolCall, ToolCallTitle
from r1chat.ui.widgets.trace import Trace, TraceTitle
from tests.ui.conftest import lines_of, screen_text, text_of, wait_until

PARAGRAPHS = [f"Paragraph {n:03d} says something about caches and memory, then stops." for n in range(400)]
TEXT = "\n\n".join(PARAGRAPHS) + "\n\n"


class LiveApp(App):
    def compose(self) -> ComposeResult:
        yield LiveText(id="live")


def live(pilot) -> LiveText:
    return pilot.app.query_one("#live", LiveText)


def pieces(text: LiveText) -> int:
    """The pieces the text was drawn in: those in its archive and those still widgets of their own."""
    archives = text.query(Archive)
    return sum(a.parts for a in archives) + len(text.query(".live-piece")) - len(archives)


def pieces_text(text: LiveText) -> str:
    return "\n".join(text_of(piece) for piece in text.query(".live-piece"))


def test_a_frame_takes_whole_blocks_up_to_its_budget():
    whole, fence_at = whole_blocks(TEXT, LiveText.BUDGET)
    assert LiveText.BUDGET <= whole < LiveText.BUDGET + len(PARAGRAPHS[0]) + 2
    assert TEXT[:whole].endswith("\n\n") and fence_at is None
    assert whole_blocks(TEXT) == (len(TEXT), None)
    assert whole_blocks("```py\nx = 1\n\ny\n", 1) == (0, 0)  # an open fence is no block end


async def test_a_backlog_is_drawn_over_several_frames_and_all_of_it_arrives():
    async with LiveApp().run_test(size=(100, 30)) as pilot:
        text = live(pilot)
        text.write(TEXT)  # 28 KB at once: a fast server's burst after a slow frame
        text._flush()
        assert not text.drawn  # one frame took a part: the rest waits for the next frames
        assert len(text.query(".live-piece")) <= 2
        await wait_until(pilot, lambda: text.drawn, "the backlog to be drawn")
        await pilot.pause()  # the last pieces laid out
        shown = pieces_text(text)
        assert [p for p in PARAGRAPHS if p in shown] == PARAGRAPHS  # all, once each, in order
        assert shown.count("Paragraph") == len(PARAGRAPHS)
        assert pieces(text) >= len(TEXT) // (LiveText.PIECE + LiveText.BUDGET)
        assert len(text.query(".live-piece")) <= LiveText.LOOSE + 1  # the older ones in one archive
        await text.finish()
        await pilot.pause()
        assert pieces_text(text).count("Paragraph") == len(PARAGRAPHS)
        assert not text.query_one(".live-tail").display


async def test_finishing_with_a_backlog_draws_all_of_it_before_it_returns():
    async with LiveApp().run_test(size=(100, 30)) as pilot:
        text = live(pilot)
        text.write(TEXT + "The last words, unfinished")
        await text.finish()
        await pilot.pause()
        shown = pieces_text(text)
        assert [p for p in PARAGRAPHS if p in shown] == PARAGRAPHS
        assert shown.rstrip().endswith("The last words, unfinished")
        # In pieces of about the usual size, not one widget of 28 KB.
        assert pieces(text) >= len(TEXT) // (LiveText.PIECE + LiveText.BUDGET)


async def test_pieces_wrap_again_when_the_width_changes():
    async with LiveApp().run_test(size=(100, 30)) as pilot:
        text = live(pilot)
        text.write("word " * 300 + "\n\nnext\n\n")
        await wait_until(pilot, lambda: text.drawn, "the text")
        piece = text.query_one(".live-piece")
        wide = lines_of(piece)
        await pilot.resize_terminal(50, 30)
        await wait_until(pilot, lambda: piece.size.width == 50, "the narrower layout")
        await pilot.pause()
        narrow = lines_of(piece)
        assert max(map(len, narrow)) <= 50 < max(map(len, wide))
        assert len(narrow) > len(wide)
        assert " ".join(narrow).split() == " ".join(wide).split()


async def test_pieces_take_the_colours_of_a_new_theme():
    async with LiveApp().run_test(size=(100, 30)) as pilot:
        pilot.app.theme = "textual-dark"
        text = live(pilot)
        text.write("Some words in a piece.\n\nand more\n\n")
        await wait_until(pilot, lambda: text.drawn, "the text")
        await pilot.pause()
        piece = text.query_one(".live-piece")

        def colours() -> set:
            width, height = piece.outer_size
            strips = piece.render_lines(piece.region.reset_offset)
            return {seg.style.color for strip in strips for seg in strip if seg.text.strip() and seg.style}

        before = colours()
        pilot.app.theme = "textual-light"
        await pilot.pause()
        await pilot.pause()
        assert colours() != before


async def test_lines_a_block_no_longer_has_are_blanked_on_screen():
    # The block being written keeps its room while its text is redrawn; only changed lines are
    # repainted, and a line that is gone is one of them.
    class Room(App):
        def compose(self) -> ComposeResult:
            yield Lines(id="lines")

    async with Room().run_test(size=(40, 10)) as pilot:
        lines = pilot.app.query_one("#lines", Lines)
        lines.styles.height = 6
        await pilot.pause()
        assert lines.show(Text("\n".join(f"old line {n}" for n in range(5))), 40) == 5
        await pilot.pause()
        assert screen_text(pilot).count("old line") == 5
        assert lines.show(Text("new"), 40) == 1
        await pilot.pause()
        assert "old line" not in screen_text(pilot) and "new" in screen_text(pilot)


@pytest.mark.process
def test_warming_up_prepares_what_the_first_answer_would_wait_for():
    # In a fresh interpreter: this one has drawn Markdown already.
    script = (
        "import sys, threading\n"
        "from r1chat.ui.widgets.markdown import warm_up\n"
        "names = ('rich.markdown', 'markdown_it', 'pygments.lexers.python')\n"
        "before = [n for n in names if n in sys.modules]\n"
        "thread = threading.Thread(target=warm_up); thread.start(); thread.join()\n"
        "from pygments.lexers.python import PythonLexer\n"
        "print(before, [n for n in names if n in sys.modules], '_tokens' in PythonLexer.__dict__)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["[]", "['rich.markdown',", "'markdown_it',", "'pygments.lexers.python']", "True"]


async def test_the_app_warms_up_in_a_thread_once_the_chat_screen_is_drawn(run_app, monkeypatch):
    from r1chat.ui.widgets import markdown

    on_main_thread = []
    monkeypatch.setattr(markdown, "warm_up", lambda: on_main_thread.append(threading.current_thread() is threading.main_thread()))
    async with run_app() as pilot:
        await wait_until(pilot, lambda: on_main_thread, "the warm-up")
        assert on_main_thread == [False]


async def test_blocks_drawn_as_separate_pieces_are_spaced_as_in_the_whole_text(monkeypatch):
    monkeypatch.setattr(LiveText, "PIECE", 1)  # every block its own piece
    blocks = [
        "Some words.\n\n", "| a | b |\n|---|---|\n| 1 | 2 |\n\n", "- one\n- two\n\n", "> a quote\n\n",
        "```python\nx = 1\n```\n", "## A heading\n\n", "Words after a heading.\n\n", "1. first\n", "\nThe end.\n",
    ]

    class Both(App):
        def compose(self) -> ComposeResult:
            yield LiveText(id="live")
            yield Lines(rendered("".join(blocks)), id="whole")

    def shown(widget) -> list[str]:
        lines = [line.rstrip() for line in text_of(widget).splitlines()]
        while lines and not lines[-1]:
            lines.pop()
        return lines

    async with Both().run_test(size=(60, 80)) as pilot:
        await pilot.pause()
        text = live(pilot)
        for block in blocks:  # each block in a frame of its own
            text.write(block)
            text._flush()
        await text.finish()
        await pilot.pause()
        assert pieces(text) == len(blocks)
        assert len(text.query(Archive)) == 1  # the first five are in it, drawn as they were
        assert shown(text) == shown(pilot.app.query_one("#whole"))
        wide = shown(text)
        await pilot.resize_terminal(14, 80)  # the archive's lines are drawn again for the width
        await pilot.pause()
        assert shown(text) == shown(pilot.app.query_one("#whole")) != wide


async def test_markdown_takes_its_colours_from_the_theme_light_or_dark():
    class Answer(App):
        def compose(self) -> ComposeResult:
            yield Lines(rendered("Run `make` first.\n\n- a point\n\n```python\nx = 1\n```\n"), id="answer")

    def painted(pilot) -> dict[str, Style]:
        strips = pilot.app.screen._compositor.render_strips()
        return {seg.text.strip(): seg.style for strip in strips for seg in strip if seg.text.strip()}

    async with Answer().run_test(size=(60, 12)) as pilot:
        pilot.app.theme = "textual-light"
        await pilot.pause()
        await pilot.pause()
        light = painted(pilot)
        panel = Color.parse(pilot.app.theme_variables["panel"]).rich_color
        assert light["make"].bgcolor == panel  # not Rich's own black patch
        assert light["•"].color != light["a point"].color
        pilot.app.theme = "textual-dark"
        await pilot.pause()
        await pilot.pause()
        dark = painted(pilot)
        # Code blocks: a light Pygments style in a light theme, a dark one in a dark theme.
        assert min(light["x"].bgcolor.get_truecolor()) > 200
        assert max(dark["x"].bgcolor.get_truecolor()) < 60
        assert dark["make"].bgcolor == Color.parse(pilot.app.theme_variables["panel"]).rich_color != panel



class TraceApp(App):
    def compose(self) -> ComposeResult:
        yield Trace(live=True)


async def test_a_live_traces_frame_after_its_title_is_gone_draws_and_does_not_crash():
    # Quitting mid-answer takes the trace down child by child: its title went first, and a frame
    # of its body that came between crashed the app (seen on a loaded machine).
    async with TraceApp().run_test(size=(100, 30)) as pilot:
        trace = pilot.app.query_one(Trace)
        await trace.query_one(TraceTitle).remove()
        await trace.append("A thought that arrives after the title was taken down.")
        body = trace.query_one(LiveText)
        await wait_until(pilot, lambda: body.drawn and "title was taken down" in text_of(body), "the text")
        await pilot.pause(2.5 / LiveText.FPS)  # the body's clock ticks, which ticks the trace's
        assert pilot.app._exception is None
        assert pilot.app.is_running


class ToolCallApp(App):
    def compose(self) -> ComposeResult:
        yield ToolCall(ToolCallPart(id="call-1", name="search", arguments={"q": "caches"}), live=True)


async def test_a_running_tool_calls_clock_after_its_title_is_gone_does_not_crash(monkeypatch):
    monkeypatch.setattr(tool_call, "TICK_EVERY", 1)
    async with ToolCallApp().run_test(size=(100, 30)) as pilot:
        call = pilot.app.query_one(ToolCall)
        await call.query_one(ToolCallTitle).remove()
        await pilot.pause(2.5 / LiveText.FPS)  # its clock ticks twice, on the app's frames
        assert pilot.app._exception is None
        assert pilot.app.is_running


async def test_a_streaming_texts_frame_after_its_tail_is_gone_does_not_crash():
    # Taking a conversation down removes a text's children before the text: a frame of the
    # app's clock can come between, with words still to draw.
    async with LiveApp().run_test(size=(100, 30)) as pilot:
        text = live(pilot)
        text.write("The first words.\n\n```\ncode\n```\n\n")  # a fence ends its piece: the next block starts one
        await wait_until(pilot, lambda: text.drawn, "the first words")
        await text.query_one(".live-tail").remove()
        text.write("More words after the tail was taken down.\n\nA block that ends, then one begun")
        await pilot.pause(2.5 / LiveText.FPS)  # two frames of the app's clock
        assert pilot.app._exception is None
        assert pilot.app.is_running

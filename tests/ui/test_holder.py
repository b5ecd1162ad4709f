"""Containers that keep their drawn lines when only their height changes: what they draw after
growing and shrinking is what a fresh screen draws, and growing draws only the new lines."""

from __future__ import annotations

from textual._styles_cache import StylesCache
from textual.app import App, ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from r1chat.ui.widgets.one_pass import Holder


class Box(Holder, Vertical):
    DEFAULT_CSS = """
    Box { height: auto; border: round red; padding: 1 2 1 2; background: darkblue; }
    Box.-wide { border: heavy green; }
    """


class Page(App):
    def __init__(self, lines: int) -> None:
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Box(id="box"):
            yield Static(self.text(self.lines), id="text")

    @staticmethod
    def text(lines: int) -> str:
        return "\n".join(f"line {n}" for n in range(lines))


def drawn(app: App) -> list[list[tuple[str, object]]]:
    return [[(segment.text, segment.style) for segment in strip] for strip in app.screen._compositor.render_strips()]


async def as_fresh(lines: int, css_class: str = "") -> list:
    app = Page(lines)
    async with app.run_test(size=(40, 30)) as pilot:
        if css_class:
            app.query_one(Box).add_class(css_class)
        await pilot.pause()
        return drawn(app)


async def test_after_growing_shrinking_and_restyling_it_draws_what_a_fresh_screen_draws():
    app = Page(3)
    async with app.run_test(size=(40, 30)) as pilot:
        text = app.query_one("#text", Static)
        for lines in (8, 15, 4, 1, 12):
            text.update(Page.text(lines))
            await pilot.pause()
            assert drawn(app) == await as_fresh(lines), lines
        app.query_one(Box).add_class("-wide")  # a change of style draws every line again
        await pilot.pause()
        assert drawn(app) == await as_fresh(12, "-wide")


async def test_growing_draws_the_new_lines_and_the_bottom_edge_only(monkeypatch):
    app = Page(3)
    async with app.run_test(size=(40, 30)) as pilot:
        box = app.query_one(Box)
        drawn_lines: list[int] = []
        render_line = StylesCache.render_line

        def counted(self, styles, y, *args):
            if self is box._styles_cache:
                drawn_lines.append(y)
            return render_line(self, styles, y, *args)

        monkeypatch.setattr(StylesCache, "render_line", counted)
        height = box.region.height  # 3 lines, 2 of padding, 2 of border
        app.query_one("#text", Static).update(Page.text(13))
        await pilot.pause()
        assert box.region.height == height + 10
        # The old bottom padding and border, and the ten new lines; not the eight above them.
        assert sorted(drawn_lines) == list(range(height - 2, height + 10)), drawn_lines


class Scrolled(App):
    def compose(self) -> ComposeResult:
        with VerticalScroll(id="scroll"):
            with Box(id="box"):
                yield Static("", id="text")

    def on_mount(self) -> None:
        self.query_one("#scroll", VerticalScroll).anchor()


async def test_a_container_that_grows_far_past_the_screen_keeps_a_screenful_of_lines_not_all():
    app = Scrolled()
    async with app.run_test(size=(40, 30)) as pilot:
        box = app.query_one(Box)
        for lines in range(10, 310, 10):  # text streaming in, the view kept at its end
            app.query_one("#text", Static).update(Page.text(lines))
            await pilot.pause()
        assert box.region.height > 300
        assert len(box._styles_cache._cache) <= 2 * 30
        rows = ["".join(text for text, _ in row) for row in drawn(app)]
        assert any("line 299" in row for row in rows[-4:]), rows[-4:]  # and it shows the end

"""One clock for everything on screen that changes while a turn streams: each streaming text's
new words, its trace's clock, the status bar's live figures, a compare turn's figures.

With a timer each, their ticks fell at different moments, and each tick was a screen update of
its own: while one answer streamed the screen was drawn 13 times a second (the text 6, the status
bar 4, and the cursor's blink), and the screen's updates are the largest part of what an answer
costs (40 % of it in a profile). On one clock they are drawn together: about 10 updates a second
with the blink; three answers streaming at once, 6 for all three, not up to 18.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App
from textual.timer import Timer

FPS = 6


class Frames:
    """Calls what joined it ``FPS`` times a second (or every ``every``-th time), in the order
    it joined; the timer runs only while something has joined."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._joined: dict[Callable[[], object], int] = {}  # callback: every how many frames
        self._timer: Timer | None = None
        self._count = 0

    def join(self, callback: Callable[[], object], *, every: int = 1) -> None:
        self._joined[callback] = every
        if self._timer is None:
            self._timer = self._app.set_interval(1 / FPS, self._frame, name="frames")
        else:
            self._timer.resume()

    def leave(self, callback: Callable[[], object]) -> None:
        self._joined.pop(callback, None)
        if not self._joined and self._timer is not None:
            self._timer.pause()

    def _frame(self) -> None:
        self._count += 1
        for callback, every in list(self._joined.items()):
            # One that left during this frame (a text finished by another's callback) is skipped.
            if self._count % every == 0 and callback in self._joined:
                callback()


def frames(app: App) -> Frames:
    """The app's clock (made when first asked for)."""
    clock = app.__dict__.get("_r1chat_frames")
    if clock is None:
        clock = app.__dict__["_r1chat_frames"] = Frames(app)
    return clock

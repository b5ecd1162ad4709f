"""A crash's log: the traceback goes to a file under the user's log folder, and the terminal gets
one line naming it once the screen is restored (a traceback with locals is pages long, and
printed into a terminal that was just torn down it is mostly lost)."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console, RenderableType

from r1chat.crash_log import describe, log_dir, summary_of, write_log


def render(renderables: list[RenderableType]) -> str:
    """Rich renderables (a Textual panic's) as plain text."""
    out = io.StringIO()
    console = Console(file=out, width=120, color_system=None, force_terminal=False, legacy_windows=False)
    for renderable in renderables:
        console.print(renderable)
    return out.getvalue()


class Crash:
    """What ended the app unexpectedly, and where the details went."""

    def __init__(self, summary: str, details: str) -> None:
        from r1chat.sanitize import strip_controls

        # An error's message can quote model or user text: no control sequence reaches the terminal.
        self.summary = strip_controls(summary)  # "ValueError: ..." on one line
        self.log: Path | None = None
        self.problem: str | None = None  # why the log could not be written
        try:
            import textual

            self.log = write_log(details, f", Textual {textual.__version__}")
        except OSError as exc:
            self.problem = f"{exc.strerror or exc} ({log_dir()})"

    @classmethod
    def of(cls, error: BaseException) -> Crash:
        return cls(summary_of(error), describe(error))

    def line(self) -> str:
        """The one line for stderr, once the terminal is restored."""
        if self.log is not None:
            return f"crashed ({self.summary}). The details are in {self.log}"
        return f"crashed ({self.summary}). The log could not be written: {self.problem}; the details are above."

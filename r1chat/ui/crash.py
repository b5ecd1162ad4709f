"""A crash's log: the traceback goes to a file under the user's log folder, and the terminal gets
one line naming it once the screen is restored (a traceback with locals is pages long, and
printed into a terminal that was just torn down it is mostly lost)."""

from __future__ import annotations

import io
import platform
import sys
import time
import traceback
from pathlib import Path

from rich.console import Console, RenderableType

from r1chat import __version__


def log_dir() -> Path:
    from platformdirs import user_log_path

    return user_log_path("r1chat", appauthor=False)


def describe(error: BaseException) -> str:
    """The traceback as plain text, as Python prints it."""
    return "".join(traceback.format_exception(error))


def render(renderables: list[RenderableType]) -> str:
    """Rich renderables (a Textual panic's) as plain text."""
    out = io.StringIO()
    console = Console(file=out, width=120, color_system=None, force_terminal=False, legacy_windows=False)
    for renderable in renderables:
        console.print(renderable)
    return out.getvalue()


def write_log(details: str) -> Path:
    """Write ``details`` to a new log file and return its path; OSError if it cannot be written."""
    import textual

    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    header = (
        f"r1chat {__version__} crashed at {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n"
        f"Python {platform.python_version()}, Textual {textual.__version__}, {sys.platform}\n\n"
    )
    # Never overwrite an earlier crash's log: a second crash in the same second gets its own file.
    for n in range(100):
        path = folder / (f"crash-{stamp}.log" if n == 0 else f"crash-{stamp}-{n}.log")
        try:
            with path.open("x", encoding="utf-8", errors="replace") as file:
                file.write(header + details)
        except FileExistsError:
            continue
        return path
    raise OSError(f"too many crash logs named crash-{stamp}*.log in {folder}")


class Crash:
    """What ended the app unexpectedly, and where the details went."""

    def __init__(self, summary: str, details: str) -> None:
        from r1chat.sanitize import strip_controls

        # An error's message can quote model or user text: no control sequence reaches the terminal.
        self.summary = strip_controls(summary)  # "ValueError: ..." on one line
        self.log: Path | None = None
        self.problem: str | None = None  # why the log could not be written
        try:
            self.log = write_log(details)
        except OSError as exc:
            self.problem = f"{exc.strerror or exc} ({log_dir()})"

    @classmethod
    def of(cls, error: BaseException) -> Crash:
        lines = traceback.format_exception_only(error)[-1].strip().splitlines()
        return cls(lines[0] if lines else type(error).__name__, describe(error))

    def line(self) -> str:
        """The one line for stderr, once the terminal is restored."""
        if self.log is not None:
            return f"crashed ({self.summary}). The details are in {self.log}"
        return f"crashed ({self.summary}). The log could not be written: {self.problem}; the details are above."

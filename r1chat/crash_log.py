"""A crash's log, for the TUI and the other verbs alike: the traceback goes to a new file under
the user's log folder, and the terminal gets one line naming it (a traceback is pages long, and
printed into a terminal that was just torn down it is mostly lost)."""

from __future__ import annotations

import platform
import sys
import time
import traceback
from pathlib import Path

from r1chat import __version__


def log_dir() -> Path:
    from platformdirs import user_log_path

    return user_log_path("r1chat", appauthor=False)


def describe(error: BaseException) -> str:
    """The traceback as plain text, as Python prints it."""
    return "".join(traceback.format_exception(error))


def write_log(details: str, versions: str = "") -> Path:
    """Write ``details`` to a new log file and return its path; OSError if it cannot be written.
    ``versions``: more to name in the header (the UI's library versions)."""
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    header = (
        f"r1chat {__version__} crashed at {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n"
        f"Python {platform.python_version()}{versions}, {sys.platform}\n\n"
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


def summary_of(error: BaseException) -> str:
    """``ValueError: ...``, the last line Python prints, on one line."""
    lines = traceback.format_exception_only(error)[-1].strip().splitlines()
    return lines[0] if lines else type(error).__name__

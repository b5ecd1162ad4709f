"""Answers the database could not take (a full disk), written at exit where a person can find them.

Tried in order: ``recovery/`` in the user state directory, then the temporary directory (often
another filesystem, with room when the data one has none). When neither takes the file, the
caller prints the text itself on stderr, after the terminal is restored.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from r1chat.sanitize import strip_controls
from r1chat.turn import Turn


def state_dir() -> Path:
    from platformdirs import user_state_path

    return user_state_path("r1chat", appauthor=False)


def places() -> list[Path]:
    return [state_dir() / "recovery", Path(tempfile.gettempdir())]


def recovery_text(turns: Sequence[Turn], why: str = "") -> str:
    """The turns as Markdown: conversation, model, time, prompt, trace and answer."""
    lines = ["# r1chat: answers that could not be saved", ""]
    if why:
        lines += [f"Why: {strip_controls(why)}", ""]
    for turn in turns:
        answer, conversation = turn.assistant, turn.conversation
        when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(answer.created_at))
        title = strip_controls(conversation.title).replace("\n", " ")
        lines += [
            f"## Conversation {conversation.id}: {title}",
            "",
            f"- Model: {strip_controls(turn.model)} ({strip_controls(turn.backend.provider)})",
            f"- Time: {when}",
            f"- Status: {answer.status}" + (f" ({strip_controls(answer.error)})" if answer.error else ""),
            "",
            "### Prompt",
            "",
            strip_controls(turn.user.content),
            "",
        ]
        if answer.reasoning:
            lines += ["### Reasoning", "", strip_controls(answer.reasoning), ""]
        lines += ["### Answer", "", strip_controls(answer.content) or "(none yet)", ""]
    return "\n".join(lines)


def write_recovery(text: str, where: Sequence[Path] | None = None) -> Path | None:
    """Write ``text`` to a new file in the first place that takes it whole; None when none does."""
    name = time.strftime("unsaved-%Y%m%d-%H%M%S")
    data = text.encode()
    for folder in places() if where is None else where:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        for number in range(1, 100):
            path = folder / (f"{name}.md" if number == 1 else f"{name}-{number}.md")
            try:
                # Exclusive: never over another file; 0600: it holds a conversation.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            except OSError:
                break
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
            except OSError:  # no room here either: leave no partial file, try the next place
                with contextlib.suppress(OSError):
                    path.unlink()
                break
            return path
    return None


def keep(turns: Sequence[Turn], why: str = "", where: Sequence[Path] | None = None) -> list[str]:
    """Write the unsaved turns to a recovery file; the lines to print on stderr: where the file
    is, or, when no place took it, the text itself."""
    if not turns:
        return []
    text = recovery_text(turns, why)
    path = write_recovery(text, where)
    what = "An answer" if len(turns) == 1 else f"{len(turns)} answers"
    if path is not None:
        return [f"{what} could not be saved in the database; kept in {path}"]
    return [f"{what} could not be saved in the database nor in a recovery file; here it is:", text]

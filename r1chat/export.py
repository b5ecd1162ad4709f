"""A conversation as Markdown (each trace in a collapsible ``<details>`` block) or JSON, and the
file it is saved to: named after its title, never over another file, written in one rename."""

from __future__ import annotations

import html
import os
import re
import unicodedata
from datetime import datetime
from pathlib import Path

from r1chat import __version__
from r1chat.conversation import (
    Conversation,
    Exchange,
    Message,
    MessageStatus,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Version,
)
from r1chat.grade import agree, final_answer
from r1chat.sanitize import strip_controls
from r1chat.sanitize import to_json as json_text


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M")


def thought_label(message: Message) -> str:
    seconds = message.reasoning_seconds
    label = f"Thought for {seconds:.1f}s" if seconds is not None else "Thoughts"
    if message.stats.reasoning_truncated or (
        message.status is not MessageStatus.DONE and not message.content
    ):
        label += " (cut off)"
    return label


def _fence_safe(text: str) -> str:
    # A trace is shown as Markdown; a stray "</details>" in it must not close our block early.
    return text.replace("</details>", "&lt;/details&gt;")


def _fenced(text: str, info: str = "") -> list[str]:
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return [fence + info, text, fence]


def _tool_lines(message: Message) -> list[str]:
    """A tool-calling answer in the order it happened: each trace segment folded, each call folded
    with its arguments and result, then the text."""
    lines: list[str] = []
    results = {p.call_id: p for p in message.parts if isinstance(p, ToolResultPart)}
    for part in message.parts:
        if isinstance(part, ReasoningPart) and part.text.strip():
            seconds = part.seconds(message.finished_at)
            label = f"Thought for {seconds:.1f}s" if seconds is not None else "Thoughts"
            lines += ["<details>", f"<summary>{label}</summary>", "", _fence_safe(part.text.strip("\n")), "", "</details>", ""]
        elif isinstance(part, ToolCallPart):
            result = results.get(part.id)
            name = f"{part.server}.{part.name}" if part.server else part.name
            outcome = "no result" if result is None else (
                "denied" if result.denied else "error" if result.is_error else "ok")
            took = f" · {result.seconds:.1f}s" if result is not None and result.seconds is not None else ""
            lines += ["<details>", f"<summary>⚙ {html.escape(name)}{took} · {outcome}</summary>", ""]
            lines += _fenced(json_text(part.arguments, indent=2), "json")
            if result is not None:
                lines += [""] + _fenced(_fence_safe(result.text))
            lines += ["", "</details>", ""]
        elif isinstance(part, TextPart) and part.text:
            lines += [part.text, ""]
    return lines


def _answer_lines(message: Message, *, folded: bool = False) -> list[str]:
    """An answer's trace (folded), text and how it ended; ``folded``: inside a ``<details>`` block."""
    lines: list[str] = []
    if any(isinstance(part, ToolCallPart) for part in message.parts):
        lines += _tool_lines(message)
    elif message.reasoning:
        lines += [
            "<details>",
            f"<summary>{html.escape(thought_label(message))}</summary>",
            "",
            _fence_safe(message.reasoning.strip("\n")),
            "",
            "</details>",
            "",
        ]
    if message.content and not any(isinstance(part, ToolCallPart) for part in message.parts):
        lines += [_fence_safe(message.content) if folded else message.content, ""]
    if message.status is MessageStatus.INTERRUPTED:
        lines += ["> *Interrupted before the answer was finished.*", ""]
    elif message.status is MessageStatus.ERROR:
        lines += [f"> **Error:** {message.error or 'unknown error'}", ""]
    elif message.status is MessageStatus.STREAMING:
        lines += ["> *Still streaming when exported.*", ""]
    return lines


def _other_version(number: int, count: int, version: Version, shown: Version) -> list[str]:
    """A version that is not the current one, folded: an earlier answer, a failed retry, an edit."""
    answer, prompt = version.answer, version.prompt
    what = [answer.model or "assistant", str(answer.status)] if answer is not None else ["no answer"]
    lines = ["<details>", f"<summary>Version {number} of {count} (not sent): {html.escape(', '.join(what))}</summary>", ""]
    if prompt is not None and prompt is not shown.prompt:
        lines += ["**You:**", "", _fence_safe(prompt.content), ""]
    if answer is not None:
        lines += _answer_lines(answer, folded=True)
    return lines + ["</details>", ""]


def _compare_lines(exchange: Exchange) -> list[str]:
    """A compare turn: every model's answer in column order, the one sent later marked, then the
    final answers and whether they agree."""
    lines: list[str] = []
    answers = exchange.columns()
    shown = exchange.shown.answer
    for answer in answers:
        name = f"{answer.model or 'assistant'}@{answer.provider}" if answer.provider else answer.model or "Assistant"
        mark = " (sent in later turns)" if answer is shown and len(answers) > 1 else ""
        lines += [f"## {name}{mark}", ""] + _answer_lines(answer)
    finals = [final_answer(a.content) if a.status is MessageStatus.DONE else None for a in answers]
    said = {True: "yes", False: "no", None: "unknown"}[agree(finals)]
    lines += ["**Final answers:** " + " · ".join(f or "—" for f in finals) + f" · agree: {said}", ""]
    return lines


def to_markdown(conversation: Conversation) -> str:
    """The conversation as it reads (each turn's current version), with the other versions of a
    retried or edited turn folded under it; no control sequence of the model's or the user's
    survives (the file is read in a terminal too: ``cat``, ``less -R``)."""
    models = sorted({m.model for m in conversation.messages if m.role is Role.ASSISTANT and m.model})
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    meta = [", ".join(models) if models else None, _when(conversation.created_at)]
    lines += ["*" + " · ".join(m for m in meta if m) + "*", ""]
    for message in conversation.messages:
        if message.role is Role.SYSTEM:
            lines += ["## System", "", message.content, ""]
    for exchange in conversation.exchanges():
        shown = exchange.shown
        if shown.prompt is not None:
            lines += ["## You", "", shown.prompt.content, ""]
        if exchange.is_compare:
            lines += _compare_lines(exchange)
            continue
        if shown.answer is not None:
            lines += [f"## {shown.answer.model or 'Assistant'}", ""] + _answer_lines(shown.answer)
        count = len(exchange.versions)
        for number, version in enumerate(exchange.versions, 1):
            if version is not shown:
                lines += _other_version(number, count, version, shown)
    return strip_controls("\n".join(lines)).rstrip() + "\n"


def to_json(conversation: Conversation) -> str:
    # Version 2: messages carry their parts, exchange, prompt (reply_to) and whether they are current.
    data = {"format": "r1chat-conversation", "version": 2, "exported_by": f"r1chat {__version__}"}
    data.update(conversation.to_dict())
    return json_text(data, indent=2) + "\n"


# --- files -----------------------------------------------------------------------------------

FORMATS = {"md": to_markdown, "json": to_json}


class ExportError(Exception):
    """The file could not be written; the message names it."""


def render(conversation: Conversation, fmt: str = "md") -> str:
    return FORMATS[fmt](conversation)


def export_dir() -> Path:
    """The user's documents folder (``XDG_DOCUMENTS_DIR`` on Linux, ``Documents`` elsewhere)."""
    from platformdirs import user_documents_dir

    return Path(user_documents_dir())


_NOT_A_WORD = re.compile(r"[\W_]+")


def file_name(conversation: Conversation, fmt: str = "md", copy: int = 1) -> str:
    """``why-is-the-sky-blue-12.md``: the title as a safe slug, the conversation id, the format.

    Letters of any script are kept, everything else becomes one hyphen, so the name is valid on
    every file system and short enough (60 characters) for any of them.
    """
    # Sequences go whole first: their parameters ("52;c;...") would otherwise become words.
    title = strip_controls(conversation.title)
    slug = _NOT_A_WORD.sub("-", unicodedata.normalize("NFKC", title)).strip("-").lower()
    if len(slug) > 60:
        slug = slug[:61].rsplit("-", 1)[0] if "-" in slug[:61] else slug[:60]
    stem = f"{slug or 'conversation'}-{conversation.id if conversation.id is not None else 'new'}"
    return f"{stem}{'' if copy == 1 else f'-{copy}'}.{fmt}"


def save(conversation: Conversation, fmt: str = "md", directory: Path | None = None) -> Path:
    """Write the conversation into ``directory`` (default: ``export_dir()``) under ``file_name``.

    Never overwrites: a name already taken gets ``-2``, ``-3``, ... The name is claimed with an
    exclusive create and the text moved over it in one rename, so a reader never sees half a file
    and two exports at once never pick the same name. Returns the path written.
    """
    directory = export_dir() if directory is None else Path(directory).expanduser()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"Cannot create {directory}: {exc.strerror or exc}") from None
    text = render(conversation, fmt)
    for copy in range(1, 10_000):
        path = directory / file_name(conversation, fmt, copy)
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            continue
        except OSError as exc:
            raise ExportError(f"Cannot write {path}: {exc.strerror or exc}") from None
        try:
            write(path, text)
        except ExportError:
            path.unlink(missing_ok=True)
            raise
        return path
    raise ExportError(f"Cannot find a free file name in {directory}")


def write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once: written beside it, flushed, then renamed over it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ExportError(f"Cannot write {path}: {exc.strerror or exc}") from None

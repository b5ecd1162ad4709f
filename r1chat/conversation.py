"""Conversations and messages, and the one function that builds a request's history."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from r1chat.backends.base import TurnStats
from r1chat.sanitize import strip_controls


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


# Why an answer is interrupted when r1chat itself went away mid-stream (a closed terminal, a kill):
# the next start shows that conversation again, offering to regenerate the answer.
APP_STOPPED = "The app stopped while this answer was streaming."


class MessageStatus(StrEnum):
    STREAMING = "streaming"
    DONE = "done"
    INTERRUPTED = "interrupted"
    ERROR = "error"


@dataclass(slots=True)
class Message:
    role: Role
    content: str = ""
    reasoning: str = ""
    status: MessageStatus = MessageStatus.DONE
    model: str | None = None
    provider: str | None = None
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    reasoning_started_at: float | None = None
    reasoning_ended_at: float | None = None
    first_token_at: float | None = None
    finished_at: float | None = None
    stats: TurnStats = field(default_factory=TurnStats)
    id: int | None = None
    conversation_id: int | None = None
    # Which process is writing a streaming message; lets a second instance tell a crash
    # from a message that is still being written.
    writer_pid: int | None = None

    @property
    def reasoning_seconds(self) -> float | None:
        if self.reasoning_started_at is None:
            return None
        end = self.reasoning_ended_at or self.finished_at or time.time()
        return max(0.0, end - self.reasoning_started_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": str(self.role),
            "content": self.content,
            "reasoning": self.reasoning,
            "status": str(self.status),
            "model": self.model,
            "provider": self.provider,
            "error": self.error,
            "created_at": self.created_at,
            "reasoning_started_at": self.reasoning_started_at,
            "reasoning_ended_at": self.reasoning_ended_at,
            "first_token_at": self.first_token_at,
            "finished_at": self.finished_at,
            "stats": self.stats.to_dict(),
        }


@dataclass(slots=True)
class Conversation:
    title: str = ""
    provider: str | None = None
    model: str | None = None
    # Per-conversation overrides (temperature, top_p, num_ctx, system prompt, ...).
    settings: dict[str, Any] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "provider": self.provider,
            "model": self.model,
            "settings": self.settings,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "messages": [m.to_dict() for m in self.messages],
        }


def clean_title(text: str) -> str:
    """One line of plain text: no control characters, runs of whitespace as one space."""
    return " ".join(strip_controls(text).split())


_FENCE_OR_MARKS = re.compile(r"^\s*(?:(?:```|~~~).*|#{1,6}\s+|>+\s*)")


def title_from_prompt(prompt: str, limit: int = 60) -> str:
    """The first paragraph of the prompt on one line, cut at a word with an ellipsis.

    The first paragraph, not the first line: a hard-wrapped question stays whole, while
    ``git diff | r1chat ask "Review this"`` is titled "Review this", not with the diff.
    """
    lines: list[str] = []
    for line in prompt.splitlines():
        line = _FENCE_OR_MARKS.sub("", line)  # a code fence, heading or quote mark says nothing
        if line.strip():
            lines.append(line)
        elif lines:
            break
    words = clean_title(" ".join(lines))
    if len(words) <= limit:
        return words
    cut = words[: limit + 1].rsplit(" ", 1)[0] if " " in words[: limit + 1] else words[:limit]
    return cut.rstrip(" ,;:.-–—") + "…"


def build_history(
    messages: list[Message], *, system_prompt: str = "", include_failed: bool = False
) -> list[dict[str, str]]:
    """The messages to send for the next request: roles and answer text only.

    Reasoning is never sent back (DeepSeek 400s or ignores it, protocols.md B.4; it wastes a
    local model's window). Interrupted and errored answers are left out unless asked for, and
    so is the user prompt that led to them, so the model never sees two user turns in a row.
    """
    history: list[dict[str, str]] = []
    if system_prompt.strip():
        history.append({"role": "system", "content": system_prompt})
    for message in messages:
        if message.role is Role.SYSTEM:
            continue
        if message.role is Role.ASSISTANT:
            failed = message.status is not MessageStatus.DONE
            if (failed and not include_failed) or not message.content:
                if history and history[-1]["role"] == "user":
                    history.pop()
                continue
        if message.role is Role.USER and history and history[-1]["role"] == "user":
            # The previous prompt never got an answer (for example the app died before one
            # was stored): keep only the newer one.
            history.pop()
        history.append({"role": str(message.role), "content": message.content})
    return history

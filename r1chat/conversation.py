"""Conversations, exchanges, messages and their parts, and the one function that builds a
request's history.

A conversation is a list of **exchanges**: one prompt and the answers to it. A retry adds an
answer to the same prompt, an edit adds a new prompt with its answer; each is a **version** of
the exchange, and one version is current: the one shown and sent in later history. Nothing is
deleted to make another version current. ``Conversation.messages`` holds every stored message in
the order it was written, versions included; ``exchanges()`` groups them.

A ``Message`` is an ordered list of **parts**: answer text, reasoning segments (each timed and
counted), attachments, tool calls and tool results. ``content`` and ``reasoning`` are the joined
text of its text and reasoning parts.

A turn that calls tools is one assistant message whose parts follow the turn in order:
``ReasoningPart, ToolCallPart…, ToolResultPart…, ReasoningPart, TextPart`` (think, call, read the
results, think again, answer); there are no separate tool-role messages. Each backend cuts such a
message into its wire messages (``steps``): an assistant message per request with its calls, then
one tool message per result.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
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
# Why an answer is interrupted when the user stopped it.
USER_STOPPED = "Stopped before the answer was finished."


class MessageStatus(StrEnum):
    STREAMING = "streaming"
    DONE = "done"
    INTERRUPTED = "interrupted"
    ERROR = "error"


# --- parts -------------------------------------------------------------------------------------


@dataclass(slots=True)
class TextPart:
    """Text written by the user, or a piece of the answer."""

    text: str = ""


@dataclass(slots=True)
class ReasoningPart:
    """One segment of the trace. A model that calls tools thinks again after each result, so a
    message can hold several, each with its own timing and token count."""

    text: str = ""
    started_at: float | None = None
    ended_at: float | None = None
    tokens: int | None = None

    def seconds(self, finished_at: float | None = None) -> float | None:
        """How long the segment took; one still being written counts until now."""
        if self.started_at is None:
            return None
        end = self.ended_at or finished_at or time.time()
        return max(0.0, end - self.started_at)


@dataclass(slots=True)
class AttachmentPart:
    """A file added to a prompt: its text, or for an image its bytes' size and type."""

    name: str
    media_type: str = "text/plain"
    text: str | None = None
    size: int | None = None


@dataclass(slots=True)
class ToolCallPart:
    """A call the model asked for, complete (its argument deltas joined): ``name`` is the tool's
    own name on ``server`` (the model called it by ``r1chat.tools.names.wire_name``; a name the
    model made up has no server). ``reasoning_details``: the structured reasoning the endpoint
    sent with the calls (OpenRouter), kept verbatim on the step's first call to be sent back."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    server: str = ""
    reasoning_details: list[dict[str, Any]] | None = None


@dataclass(slots=True)
class ToolResultPart:
    """What a tool answered to the call ``call_id`` (sanitised and size-capped), how long it
    took, and whether it failed (``is_error``) or the user denied it (``denied``, also an error
    to the model)."""

    call_id: str
    name: str
    text: str = ""
    is_error: bool = False
    seconds: float | None = None
    denied: bool = False


Part = TextPart | ReasoningPart | AttachmentPart | ToolCallPart | ToolResultPart


# --- messages ----------------------------------------------------------------------------------


class Message:
    """One message: the user's prompt or an answer, with its parts, status, timings and stats.

    ``Message(Role.USER, "text")`` and ``Message(Role.ASSISTANT, "answer", reasoning="trace")``
    make the usual one-text, one-segment message; ``parts=`` gives them in full.
    """

    __slots__ = (
        "role", "parts", "status", "model", "provider", "error", "created_at", "first_token_at",
        "finished_at", "stats", "id", "conversation_id", "writer_pid", "exchange_id", "reply_to", "current",
        "column",
    )

    def __init__(
        self,
        role: Role,
        content: str = "",
        reasoning: str = "",
        *,
        parts: list[Part] | None = None,
        status: MessageStatus = MessageStatus.DONE,
        model: str | None = None,
        provider: str | None = None,
        error: str | None = None,
        created_at: float | None = None,
        reasoning_started_at: float | None = None,
        reasoning_ended_at: float | None = None,
        first_token_at: float | None = None,
        finished_at: float | None = None,
        stats: TurnStats | None = None,
        id: int | None = None,
        conversation_id: int | None = None,
        writer_pid: int | None = None,
        exchange_id: int | None = None,
        reply_to: int | None = None,
        current: bool = True,
        column: int | None = None,
    ) -> None:
        self.role = role
        if parts is None:
            parts = []
            if reasoning or reasoning_started_at is not None:
                parts.append(ReasoningPart(reasoning, reasoning_started_at, reasoning_ended_at))
            if content:
                parts.append(TextPart(content))
        self.parts: list[Part] = parts
        self.status = status
        self.model = model
        self.provider = provider
        self.error = error
        self.created_at = time.time() if created_at is None else created_at
        self.first_token_at = first_token_at
        self.finished_at = finished_at
        self.stats = stats if stats is not None else TurnStats()
        self.id = id
        self.conversation_id = conversation_id
        # Which process is writing a streaming message; lets a second instance tell a crash
        # from a message that is still being written.
        self.writer_pid = writer_pid
        # The exchange it belongs to (the id of the exchange's first prompt), the prompt an
        # answer answers, and whether it is in the current version of its exchange.
        self.exchange_id = exchange_id
        self.reply_to = reply_to
        self.current = current
        # The column of a compare turn's answer (one answer per model, r1chat/compare.py); None
        # for every other message.
        self.column = column

    def __repr__(self) -> str:
        text = (self.content or self.reasoning)[:30]
        return f"Message({self.role.value}, {text!r}, status={self.status.value}, id={self.id})"

    # --- text --------------------------------------------------------------------------------

    @property
    def content(self) -> str:
        return "".join(part.text for part in self.parts if isinstance(part, TextPart))

    @content.setter
    def content(self, text: str) -> None:
        """Replace the text parts by one (after the trace)."""
        self.parts = [part for part in self.parts if not isinstance(part, TextPart)]
        if text:
            self.parts.append(TextPart(text))

    @property
    def reasoning(self) -> str:
        return "".join(part.text for part in self.parts if isinstance(part, ReasoningPart))

    @reasoning.setter
    def reasoning(self, text: str) -> None:
        """Replace the trace by one segment (before the answer), keeping the first one's timing."""
        segments = self.segments
        first = segments[0] if segments else ReasoningPart()
        last = segments[-1] if segments else first
        kept = [part for part in self.parts if not isinstance(part, ReasoningPart)]
        self.parts = ([ReasoningPart(text, first.started_at, last.ended_at, first.tokens)] if text else []) + kept

    @property
    def segments(self) -> list[ReasoningPart]:
        return [part for part in self.parts if isinstance(part, ReasoningPart)]

    # --- timings -----------------------------------------------------------------------------

    @property
    def reasoning_started_at(self) -> float | None:
        segments = self.segments
        return segments[0].started_at if segments else None

    @property
    def reasoning_ended_at(self) -> float | None:
        segments = self.segments
        return segments[-1].ended_at if segments else None

    @property
    def reasoning_seconds(self) -> float | None:
        """Time spent thinking: every segment's, summed."""
        spans = [s for s in (seg.seconds(self.finished_at) for seg in self.segments) if s is not None]
        return sum(spans) if spans else None

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
            "exchange_id": self.exchange_id,
            "reply_to": self.reply_to,
            "current": self.current,
            "column": self.column,
            "parts": [part_to_dict(part) for part in self.parts],
        }


_PART_TYPES: dict[str, type[Part]] = {
    "text": TextPart,
    "reasoning": ReasoningPart,
    "attachment": AttachmentPart,
    "tool_call": ToolCallPart,
    "tool_result": ToolResultPart,
}
_PART_NAMES = {cls: name for name, cls in _PART_TYPES.items()}


def part_to_dict(part: Part) -> dict[str, Any]:
    """A part in full (its text included), as exports and the store write it."""
    return {"type": _PART_NAMES[type(part)], **{name: getattr(part, name) for name in part.__slots__}}


def part_from_dict(data: dict[str, Any]) -> Part:
    """The part ``part_to_dict`` wrote; raises KeyError or TypeError for anything else."""
    cls = _PART_TYPES[data["type"]]
    return cls(**{name: value for name, value in data.items() if name != "type"})


# --- exchanges ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Version:
    """One prompt and its answer (None while the app died before one was stored)."""

    prompt: Message | None
    answer: Message | None = None

    @property
    def messages(self) -> list[Message]:
        return [m for m in (self.prompt, self.answer) if m is not None]

    @property
    def chosen(self) -> bool:
        """Finished, and marked current (by a retry or an edit that finished, or by the reader)."""
        answer = self.answer
        return answer is not None and answer.current and answer.status is MessageStatus.DONE


@dataclass(slots=True)
class Exchange:
    """A prompt and every answer to it, oldest first. ``current`` indexes the one shown and sent:
    the finished version chosen last (a retry or an edit that finished, or one the reader picked),
    else the newest (every version failed: the latest failure says the most)."""

    id: int | None
    versions: list[Version]
    current: int = 0

    @property
    def shown(self) -> Version:
        return self.versions[self.current]

    def index_of(self, message: Message) -> int | None:
        return next((i for i, v in enumerate(self.versions) if message in (v.prompt, v.answer)), None)

    @property
    def is_compare(self) -> bool:
        """A compare turn: one prompt answered by several models, shown as columns."""
        return any(v.answer is not None and v.answer.column is not None for v in self.versions)

    def columns(self) -> list[Message]:
        """A compare turn's answers in column order (empty for any other exchange)."""
        answers = [v.answer for v in self.versions if v.answer is not None and v.answer.column is not None]
        return sorted(answers, key=lambda answer: answer.column or 0)


def exchanges(messages: Iterable[Message]) -> list[Exchange]:
    """Group messages (in the order they were written) into exchanges.

    A message that does not say which exchange or prompt it belongs to (written before versions
    existed, or not stored yet) belongs with the prompt before it.
    """
    ordered: list[Exchange] = []
    by_key: dict[int, Exchange] = {}
    by_prompt: dict[int, Version] = {}
    last: Exchange | None = None
    for message in messages:
        if message.role is Role.SYSTEM:
            continue
        if message.role is Role.USER:
            key = message.exchange_id if message.exchange_id is not None else message.id
            exchange = by_key.get(key) if key is not None else None
            if exchange is None:
                exchange = Exchange(key, [])
                ordered.append(exchange)
                if key is not None:
                    by_key[key] = exchange
            version = Version(message)
            exchange.versions.append(version)
            if message.id is not None:
                by_prompt[message.id] = version
        else:
            exchange = by_key.get(message.exchange_id) if message.exchange_id is not None else last
            if exchange is None:  # an answer with no prompt before it
                exchange = Exchange(message.exchange_id, [Version(None)])
                ordered.append(exchange)
                if message.exchange_id is not None:
                    by_key[message.exchange_id] = exchange
            owner = by_prompt.get(message.reply_to) if message.reply_to is not None else None
            if owner is None or owner not in exchange.versions:
                owner = exchange.versions[-1]
            if owner.answer is None:
                owner.answer = message
            else:  # a retry: the same prompt, another answer
                exchange.versions.append(Version(owner.prompt, message))
        last = exchange
    for exchange in ordered:
        marked = [i for i, version in enumerate(exchange.versions) if version.chosen]
        exchange.current = marked[-1] if marked else len(exchange.versions) - 1
    return ordered


@dataclass(slots=True)
class Conversation:
    title: str = ""
    provider: str | None = None
    model: str | None = None
    # Per-conversation overrides (temperature, top_p, num_ctx, system prompt, preset, effort, ...).
    settings: dict[str, Any] = field(default_factory=dict)
    # Every stored message, versions included, in the order written.
    messages: list[Message] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    id: int | None = None

    def exchanges(self) -> list[Exchange]:
        return exchanges(self.messages)

    def current_messages(self) -> list[Message]:
        """The conversation as it reads now: each exchange's current prompt and answer."""
        return [m for exchange in self.exchanges() for m in exchange.shown.messages]

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


# --- history -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class History:
    """What the next request sends: an optional system prompt, then messages in order, each user
    prompt followed by its answer, ending with the new prompt. Backends encode it."""

    system: str
    messages: tuple[Message, ...]

    def __iter__(self) -> Iterator[Message]:
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)


def build_history(
    messages: Iterable[Message], *, system_prompt: str = "", include_failed: bool = False
) -> History:
    """The messages to send for the next request, from a conversation's current path.

    Interrupted and errored answers are left out unless asked for, and so is the prompt that led to
    them, so the model never sees two user turns in a row. What a backend sends of each message
    (reasoning never, today: DeepSeek 400s or ignores it, protocols.md B.4) is its own decision.
    """
    history: list[Message] = []
    for message in messages:
        if message.role is Role.SYSTEM:
            continue
        if message.role is Role.ASSISTANT:
            failed = message.status is not MessageStatus.DONE
            if (failed and not include_failed) or not message.content:
                if history and history[-1].role is Role.USER:
                    history.pop()
                continue
        if message.role is Role.USER and history and history[-1].role is Role.USER:
            # The previous prompt never got an answer (for example the app died before one
            # was stored): keep only the newer one.
            history.pop()
        history.append(message)
    return History(system_prompt if system_prompt.strip() else "", tuple(history))

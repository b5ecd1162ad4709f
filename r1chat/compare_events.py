"""The events of a compare turn (r1chat/compare.py runs it), apart so the session can name them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

from r1chat.backends.base import Content, Reasoning
from r1chat.conversation import Message
from r1chat.refs import ModelRef
from r1chat.turn import LoopNoticed

if TYPE_CHECKING:
    from r1chat.session import TurnEnded, TurnStarted

# --- events ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Waiting:
    """The column waits for ``behind`` to finish: both go to one host that answers one at a time."""

    behind: ModelRef

    def describe(self) -> str:
        return f"waiting for {self.behind.model or self.behind.provider} to finish"


@dataclass(frozen=True, slots=True)
class CompareStarted:
    """The prompt and an empty answer per model are stored; ``answers[i]`` is column i's."""

    exchange_id: int | None
    refs: tuple[ModelRef, ...]
    answers: list[Message]


ColumnPiece: TypeAlias = "TurnStarted | Reasoning | Content | LoopNoticed | TurnEnded | Waiting"


@dataclass(frozen=True, slots=True)
class ColumnEvent:
    """What happened in column ``index``: a turn's own event, or ``Waiting``."""

    index: int
    event: ColumnPiece


@dataclass(frozen=True, slots=True)
class CompareEnded:
    """Every column settled. ``finals``: each finished answer's final answer (None when it failed
    or has none); ``agree``: all the same under the eval grader's normalisation (None when any is
    missing); ``costs``: each answer's cost where known; ``current``: the column sent in later
    history (None when none finished)."""

    finals: list[str | None]
    agree: bool | None
    costs: list[float | None]
    answers: list[Message] = field(default_factory=list)
    current: int | None = None


CompareEvent = CompareStarted | ColumnEvent | CompareEnded



__all__ = ["ColumnEvent", "ColumnPiece", "CompareEnded", "CompareEvent", "CompareStarted", "Waiting"]

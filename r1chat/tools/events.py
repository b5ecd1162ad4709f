"""What a turn and the session say about tools, for a front end to show."""

from __future__ import annotations

from dataclasses import dataclass

from r1chat.conversation import ToolCallPart, ToolResultPart
from r1chat.tools.hub import ServerStatus


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    """A call is about to be approved and run (it is already in the answer's parts)."""

    call: ToolCallPart


@dataclass(frozen=True, slots=True)
class ToolCallEnded:
    """A call's result is in the answer's parts: ran, failed, denied or stopped."""

    call_id: str
    result: ToolResultPart


@dataclass(frozen=True, slots=True)
class ToolNote:
    """Something about the tools of this turn worth a line: a server late or failed, the step
    limit reached, the SDK missing."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolsUnavailable:
    """The turn goes without tools because the model cannot call them."""

    reason: str


@dataclass(frozen=True, slots=True)
class ToolsChanged:
    """A server's state or tool list changed (or a tool was switched on or off)."""

    statuses: list[ServerStatus]


ToolEvent = ToolCallStarted | ToolCallEnded | ToolNote | ToolsUnavailable

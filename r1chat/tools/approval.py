"""Asking the user before a tool runs: the request a front end shows and the answers it gives.

The TUI answers with a modal, ``r1chat ask --tools`` with a prompt on the controlling terminal.
A session without an approver runs only the tools of servers trusted ``always``; every other call
is told to the model as denied.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    ONCE = "once"  # run this call
    ALWAYS = "always"  # run this tool without asking again in this conversation
    DENY = "deny"  # do not run it; the model is told it was denied
    STOP = "stop"  # stop the turn, as Esc does


@dataclass(frozen=True)
class ApprovalRequest:
    server: str
    tool: str
    call_id: str
    arguments: dict[str, Any]


Approver = Callable[[ApprovalRequest], Awaitable[Verdict]]

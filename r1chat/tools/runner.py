"""Running the calls of one turn: approval, the call itself with its timeout, the result made safe.

Nothing runs without approval: a server trusted ``always``, a tool allowed ``always`` in this
conversation, or the approver's yes for this call. Without an approver (a script with no
terminal) a call is denied and the model is told so. A result is data: control sequences are
stripped and it is cut to ``result_limit`` characters before it goes back to the model.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from r1chat.backends.base import ToolCall, ToolSpec
from r1chat.conversation import ToolCallPart, ToolResultPart
from r1chat.sanitize import strip_controls
from r1chat.tools.approval import ApprovalRequest, Approver, Verdict
from r1chat.tools.config import ToolSettings
from r1chat.tools.hub import ToolHub
from r1chat.tools.mcp_client import CallOutcome

DENIED = "The user denied this tool call."
NOBODY_TO_ASK = "Denied: there was no one to approve this tool call."
ABANDONED = "Stopped before the tool answered; it may still finish on the server."
NOT_RUN = "Stopped before the call was approved; it did not run."


def capped(text: str, limit: int) -> str:
    text = strip_controls(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[… {len(text) - limit} more characters cut]"


class ToolRunner:
    """The tools of one turn. ``approved`` is the conversation's set of ``server.tool`` allowed
    always (``remember`` stores a new one); ``stop`` stops the turn (a STOP verdict)."""

    def __init__(
        self,
        hub: ToolHub,
        settings: ToolSettings,
        specs: list[ToolSpec],
        *,
        approver: Approver | None,
        approved: set[str],
        remember: Callable[[str], None],
        stop: Callable[[], object],
    ) -> None:
        self.hub = hub
        self.settings = settings
        self.specs = tuple(specs)
        self.approver = approver
        self.approved = approved
        self.remember = remember
        self.stop = stop
        self.running: str | None = None  # the id of the call running on its server now

    def part_for(self, call: ToolCall) -> ToolCallPart:
        found = self.hub.find(call.name)
        server, tool = found if found is not None else ("", call.name)
        return ToolCallPart(call.id, tool, dict(call.arguments), server=server)

    async def run(self, part: ToolCallPart, error: str = "") -> ToolResultPart:
        """The result of ``part``. Cancelling abandons it: the caller stores ``ABANDONED`` when it
        was running (``running``), ``NOT_RUN`` when it was still waiting for approval."""
        if error:
            return ToolResultPart(part.id, part.name, f"Error: the arguments are not valid JSON ({error})", is_error=True)
        if not part.server:
            return ToolResultPart(part.id, part.name, f"Error: there is no tool named {part.name}", is_error=True)
        verdict = await self._approval(part)
        if verdict is Verdict.STOP:
            self.stop()
            await asyncio.sleep(0)  # the stop lands here
            verdict = Verdict.DENY
        if verdict is Verdict.DENY:
            return ToolResultPart(part.id, part.name, DENIED if self.approver else NOBODY_TO_ASK, denied=True)
        started = time.monotonic()
        limit = self.settings.call_timeout
        self.running = part.id
        try:
            async with asyncio.timeout(limit + 1):  # the SDK's own timeout says it first
                outcome = await self.hub.call(part.server, part.name, part.arguments, limit)
        except TimeoutError:
            outcome = CallOutcome(f"timed out after {limit:g} s", True)
        self.running = None  # left set when cancelled: the caller tells an abandoned call by it
        seconds = time.monotonic() - started
        return ToolResultPart(
            part.id, part.name, capped(outcome.text, self.settings.result_limit), is_error=outcome.is_error, seconds=seconds
        )

    async def _approval(self, part: ToolCallPart) -> Verdict:
        key = f"{part.server}.{part.name}"
        if self.hub.trust(part.server) == "always" or key in self.approved:
            return Verdict.ONCE
        if self.approver is None:
            return Verdict.DENY
        verdict = await self.approver(ApprovalRequest(part.server, part.name, part.id, part.arguments))
        if verdict is Verdict.ALWAYS:
            self.approved.add(key)
            self.remember(key)
        return verdict

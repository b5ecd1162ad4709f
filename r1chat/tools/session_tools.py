"""A session's tools before each turn: which to offer, whether the model can take them, and what
to say of servers that are late, failed or cannot start (the SDK missing).

The hub is built on first use and its servers start on the first turn that offers tools; a
change of a server's state is told to the session's listeners as ``ToolsChanged``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from r1chat.backends.base import Backend, BackendError, Support
from r1chat.tools.approval import Approver
from r1chat.tools.events import ToolNote, ToolsChanged, ToolsUnavailable
from r1chat.tools.hub import ToolHub
from r1chat.tools.mcp_client import INSTALL_HINT, ServerState
from r1chat.tools.runner import ToolRunner

if TYPE_CHECKING:
    from r1chat.config import Settings


class SessionTools:
    def __init__(self, settings: Settings, emit: Callable[[Any], Coroutine[Any, Any, None]]) -> None:
        self.settings = settings
        self._emit = emit
        self._hub: ToolHub | None = None
        self._told: set[str] = set()  # failures already said in a ToolNote
        self._pending: set[asyncio.Task[None]] = set()
        # Why the last turn went without tools ("tools off: <model> cannot call tools"), or None.
        self.off_reason: str | None = None

    @property
    def hub(self) -> ToolHub:
        if self._hub is None:
            from r1chat.crash_log import log_dir

            try:
                logs: Path | None = log_dir()
            except Exception:  # noqa: BLE001 - no log dir: the servers' stderr goes nowhere
                logs = None
            self._hub = ToolHub(self.settings.mcp_servers, logs, on_change=self._changed)
        return self._hub

    def _changed(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._emit(ToolsChanged(self.hub.statuses())))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def runner(
        self,
        backend: Backend,
        model: str,
        *,
        approver: Approver | None,
        approved: set[str],
        remember: Callable[[str], None],
        stop: Callable[[], object],
    ) -> ToolRunner | None:
        """The tools of the next turn, or None: none configured, or the model cannot call them
        (said with ToolsUnavailable). Starts the servers and waits for them a little."""
        if not self.settings.mcp_servers or not self.hub.configured:
            return None
        try:
            capable = (await backend.capabilities(model)).tools
        except BackendError:
            capable = Support.UNKNOWN
        if capable is Support.NO:
            self.off_reason = f"tools off: {model} cannot call tools"
            await self._emit(ToolsUnavailable(self.off_reason))
            return None
        self.off_reason = None
        hub = self.hub
        hub.start()
        for name in await hub.wait_ready(self.settings.tools.start_wait):
            await self._emit(ToolNote(f"late: server {name} not ready, going without it"))
        for note in self._failures():
            await self._emit(ToolNote(note))
        specs = hub.specs()
        if not specs:
            return None
        return ToolRunner(hub, self.settings.tools, specs, approver=approver, approved=approved, remember=remember, stop=stop)

    def _failures(self) -> list[str]:
        """What to say of servers that failed (or of a missing SDK), once per failure."""
        notes = []
        for status in self.hub.statuses():
            key = f"{status.name}\0{status.state}\0{status.reason}"
            if status.state not in (ServerState.FAILED, ServerState.MISSING_SDK) or key in self._told:
                continue
            self._told.add(key)
            if status.state is ServerState.FAILED:
                notes.append(f"server {status.name} failed: {status.reason}")
            elif INSTALL_HINT not in notes:
                notes.append(INSTALL_HINT)
        return notes

    async def aclose(self) -> None:
        if self._hub is not None:
            await self._hub.aclose()

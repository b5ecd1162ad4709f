"""The tools a session can offer: every configured MCP server, its state and its tools.

Servers start lazily, on the first turn that may use tools, in the background (``start``); that
turn waits for them a few seconds (``wait_ready``) and goes without the late ones. A server that
fails never blocks a turn: its status says why. Which tools the model sees is decided here: the
server's ``allow``/``deny`` lists, then the switches a front end sets (``set_enabled``, for this
session).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1chat.backends.base import ToolSpec
from r1chat.sanitize import strip_controls
from r1chat.tools.config import MCPServerConfig
from r1chat.tools.mcp_client import CallOutcome, MCPConnection, ServerState
from r1chat.tools.names import wire_name

DESCRIPTION_LIMIT = 1024


@dataclass
class ToolInfo:
    server: str
    name: str
    description: str
    enabled: bool
    input_schema: dict[str, Any] = field(default_factory=dict)


@dataclass
class ServerStatus:
    name: str
    state: ServerState
    reason: str  # why it failed (with its stderr tail, secrets masked), or the install hint
    tools: list[ToolInfo]
    log_path: Path | None
    trust: str = "ask"


class ToolHub:
    def __init__(
        self,
        servers: dict[str, MCPServerConfig],
        log_dir: Path | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.on_change = on_change
        self._servers = {
            name: MCPConnection(config, log_dir / f"mcp-{_file_name(name)}.log" if log_dir else None, self._changed)
            for name, config in servers.items()
        }
        self._switched_off: set[tuple[str, str]] = set()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    @property
    def configured(self) -> bool:
        """Some server is configured and enabled."""
        return any(s.config.enabled for s in self._servers.values())

    def statuses(self) -> list[ServerStatus]:
        return [
            ServerStatus(
                name,
                server.state,
                server.reason,
                [
                    ToolInfo(name, tool.name, tool.description, self._offered(name, tool.name), tool.input_schema)
                    for tool in server.tools
                ],
                server.log_path,
                server.config.trust,
            )
            for name, server in self._servers.items()
        ]

    def set_enabled(self, server: str, tool: str, on: bool) -> None:
        """Offer ``tool`` of ``server`` to the model or not (for this session); ``allow``/``deny``
        in the config still win."""
        key = (server, tool)
        if on:
            self._switched_off.discard(key)
        else:
            self._switched_off.add(key)
        self._changed()

    def _offered(self, server: str, tool: str) -> bool:
        return self._servers[server].config.offers(tool) and (server, tool) not in self._switched_off

    def trust(self, server: str) -> str:
        connection = self._servers.get(server)
        return connection.config.trust if connection is not None else "ask"

    # --- starting ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start every enabled server not started yet, in the background."""
        for server in self._servers.values():
            server.start()

    async def wait_ready(self, timeout: float) -> list[str]:
        """Wait up to ``timeout`` seconds for the servers still starting; the names of those
        still not ready then."""
        waiting = [s for s in self._servers.values() if s.started and s.state is ServerState.STARTING]
        if waiting:
            waits = [asyncio.ensure_future(s.settled.wait()) for s in waiting]
            try:
                await asyncio.wait(waits, timeout=timeout)
            finally:
                for wait in waits:
                    wait.cancel()
        return [s.config.name for s in waiting if s.state is ServerState.STARTING]

    def missing_sdk(self) -> bool:
        return any(s.state is ServerState.MISSING_SDK for s in self._servers.values())

    # --- calling -----------------------------------------------------------------------------

    def specs(self) -> list[ToolSpec]:
        """The tools to offer now: the enabled ones of the servers that are ready."""
        specs = []
        for name, server in self._servers.items():
            if server.state is not ServerState.READY:
                continue
            for tool in server.tools:
                if self._offered(name, tool.name):
                    description = strip_controls(tool.description)[:DESCRIPTION_LIMIT]
                    schema = tool.input_schema or {"type": "object", "properties": {}}
                    specs.append(ToolSpec(wire_name(name, tool.name), description, schema))
        return specs

    def find(self, called: str) -> tuple[str, str] | None:
        """The (server, tool) a model's call names, among the tools offered."""
        for name, server in self._servers.items():
            for tool in server.tools:
                if wire_name(name, tool.name) == called and self._offered(name, tool.name):
                    return name, tool.name
        return None

    async def call(self, server: str, tool: str, arguments: dict[str, Any], timeout: float) -> CallOutcome:
        connection = self._servers.get(server)
        if connection is None:
            return CallOutcome(f"no server named {server}", True)
        return await connection.call(tool, arguments, timeout)

    async def aclose(self) -> None:
        await asyncio.gather(*(s.aclose() for s in self._servers.values()), return_exceptions=True)


def _file_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "server"

"""One MCP server: its session lives in one long-lived task, and calls reach it through a queue.

The SDK's task groups must be entered and left in the same task (anyio), so the task that opens
a server's session is the one that closes it; a turn never touches the session itself. Each call
runs in a task of its own, so a slow call does not hold up the next; a caller that gives up (a
stop, a timeout) cancels its call's task. The 1.x SDK sends no cancellation to the server, so the
tool may still finish there (protocols.md F.8).

The server's stderr goes to a log file, never to the terminal: FastMCP alone writes a line per
call, which would tear a full-screen UI (F.8). A server that fails to start says why with the
tail of that log, with the server's secrets (env and header values) masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from r1chat.sanitize import strip_controls
from r1chat.tools.config import MCPServerConfig, expand

INSTALL_HINT = "MCP tools need the MCP SDK: pipx install 'r1chat[mcp]' (or pip install 'r1chat[mcp]')"
TAIL_BYTES = 1200
CLOSE_SECONDS = 5.0


class ServerState(StrEnum):
    STARTING = "starting"
    READY = "ready"
    FAILED = "failed"
    OFF = "off"  # disabled in the config
    MISSING_SDK = "missing_sdk"


@dataclass(frozen=True, slots=True)
class CallOutcome:
    text: str
    is_error: bool = False


@dataclass(slots=True)
class _Call:
    tool: str
    arguments: dict[str, Any]
    timeout: float
    future: asyncio.Future[CallOutcome]


@dataclass(slots=True)
class ListedTool:
    name: str
    description: str
    input_schema: dict[str, Any] = field(default_factory=dict)


def sdk_available() -> bool:
    try:
        import mcp  # noqa: F401
    except ImportError:
        return False
    return True


def masked(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "****")
    return text


class MCPConnection:
    def __init__(self, config: MCPServerConfig, log_path: Path | None, on_change: Callable[[], None]) -> None:
        self.config = config
        self.log_path = log_path
        self.state = ServerState.OFF if not config.enabled else ServerState.STARTING
        self.reason = ""
        self.tools: list[ListedTool] = []
        self._on_change = on_change
        self._queue: asyncio.Queue[_Call | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self.settled = asyncio.Event()  # the state left STARTING

    @property
    def started(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None and self.config.enabled:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"mcp:{self.config.name}")

    def _set(self, state: ServerState, reason: str = "") -> None:
        self.state, self.reason = state, reason
        if state is not ServerState.STARTING:
            self.settled.set()
        self._on_change()

    async def _run(self) -> None:
        if not sdk_available():
            self._set(ServerState.MISSING_SDK, INSTALL_HINT)
            return
        try:
            await self._serve_session()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - any failure is the server's state, said
            self._set(ServerState.FAILED, self._why(exc))
        else:
            if self.state is not ServerState.FAILED:
                self._set(ServerState.OFF, "closed")
        finally:
            self._fail_waiting("the server is not running")

    async def _serve_session(self) -> None:
        from mcp import ClientSession

        config = self.config
        async with contextlib.AsyncExitStack() as stack:
            errlog = stack.enter_context(self._open_log())
            if config.url:
                import httpx
                from mcp.client import streamable_http

                # streamable_http_client takes an httpx client with the headers; the older
                # streamablehttp_client is deprecated (protocols.md F.8). Timeouts as the SDK's own.
                client = await stack.enter_async_context(httpx.AsyncClient(
                    headers=expand(config.headers) or None, timeout=httpx.Timeout(30, read=300), follow_redirects=True
                ))
                read, write, _ = await stack.enter_async_context(
                    streamable_http.streamable_http_client(config.url, http_client=client)
                )
            else:
                from mcp import StdioServerParameters
                from mcp.client.stdio import stdio_client

                params = StdioServerParameters(
                    command=config.command or "", args=config.args, env=expand(config.env) or None, cwd=config.cwd
                )
                read, write = await stack.enter_async_context(stdio_client(params, errlog=errlog))
            session = await stack.enter_async_context(ClientSession(read, write))
            await session.initialize()
            self.tools = await self._list_tools(session)
            self._set(ServerState.READY)
            await self._serve(session)

    def _open_log(self) -> Any:
        import os
        import sys

        if self.log_path is None:
            return open(os.devnull, "w")  # noqa: SIM115 - closed by the exit stack
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = open(self.log_path, "w", encoding="utf-8", errors="replace")  # noqa: SIM115
        except OSError:
            return open(os.devnull, "w")  # noqa: SIM115
        where = self.config.url or " ".join([self.config.command or "", *self.config.args])
        log.write(f"# r1chat: MCP server {self.config.name}: {where} (python {sys.version.split()[0]})\n")
        log.flush()
        return log

    @staticmethod
    async def _list_tools(session: Any) -> list[ListedTool]:
        tools: list[ListedTool] = []
        cursor = None
        for _ in range(100):  # a server that pages for ever is cut off
            page = await session.list_tools(cursor) if cursor else await session.list_tools()
            for tool in page.tools:
                schema = tool.inputSchema if isinstance(tool.inputSchema, dict) else {}
                tools.append(ListedTool(tool.name, tool.description or "", schema))
            cursor = page.nextCursor
            if not cursor:
                break
        return tools

    async def _serve(self, session: Any) -> None:
        try:
            while (call := await self._queue.get()) is not None:
                if call.future.done():
                    continue
                task = asyncio.get_running_loop().create_task(self._call(session, call))
                self._calls.add(task)
                task.add_done_callback(self._calls.discard)
                call.future.add_done_callback(_abandon(task))
        finally:
            for task in list(self._calls):
                task.cancel()

    async def _call(self, session: Any, call: _Call) -> None:
        try:
            result = await session.call_tool(
                call.tool, call.arguments, read_timeout_seconds=timedelta(seconds=call.timeout)
            )
            outcome = CallOutcome(result_text(result), bool(result.isError))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - told to the model as the call's failure
            code = getattr(getattr(exc, "error", None), "code", None)
            text = f"timed out after {call.timeout:g} s" if code == 408 else (str(exc) or type(exc).__name__)
            outcome = CallOutcome(text, True)
        if not call.future.done():
            call.future.set_result(outcome)

    async def call(self, tool: str, arguments: dict[str, Any], timeout: float) -> CallOutcome:
        """Run ``tool``; waits for its answer. Cancelling the wait abandons the call."""
        if self.state is not ServerState.READY:
            return CallOutcome(f"the server {self.config.name} is not ready ({self.state})", True)
        future: asyncio.Future[CallOutcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Call(tool, arguments, timeout, future))
        return await future

    def _fail_waiting(self, why: str) -> None:
        while not self._queue.empty():
            call = self._queue.get_nowait()
            if call is not None and not call.future.done():
                call.future.set_result(CallOutcome(why, True))

    def _why(self, exc: BaseException) -> str:
        while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[0]
        why = str(exc) or type(exc).__name__
        if isinstance(exc, FileNotFoundError):
            why = f"cannot start {self.config.command!r}: no such program"
        tail = self.stderr_tail()
        text = f"{why}. Its stderr ends: {tail}" if tail else why
        return masked(strip_controls(text), self.config.secrets)

    def stderr_tail(self) -> str:
        if self.log_path is None:
            return ""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(0, 2)
                log.seek(max(0, log.tell() - TAIL_BYTES))
                data = log.read().decode("utf-8", "replace")
        except OSError:
            return ""
        lines = [line for line in data.splitlines() if line.strip() and not line.startswith("# r1chat:")]
        return masked(strip_controls(" | ".join(lines[-6:])), self.config.secrets)

    async def aclose(self) -> None:
        task = self._task
        if task is None or task.done():
            return
        if self.state is not ServerState.READY:  # still starting: nothing to finish, stop it now
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            return
        self._queue.put_nowait(None)
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                await asyncio.shield(task)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


def _abandon(task: asyncio.Task[None]) -> Callable[[asyncio.Future[CallOutcome]], None]:
    """A caller that gave up on its call (a stop) cancels the call's task."""

    def done(future: asyncio.Future[CallOutcome]) -> None:
        if future.cancelled():
            task.cancel()

    return done


def result_text(result: Any) -> str:
    """A ``CallToolResult`` as text for the model: text parts joined, placeholders for binary
    parts (protocols.md F.8), the structured content when there is nothing else."""
    texts: list[str] = []
    for item in result.content or []:
        kind = getattr(item, "type", "")
        if kind == "text":
            texts.append(item.text)
        elif kind in ("image", "audio"):
            texts.append(f"[{kind}: {getattr(item, 'mimeType', '?')}, {len(getattr(item, 'data', '') or '') * 3 // 4} bytes]")
        elif kind == "resource":
            resource = item.resource
            text = getattr(resource, "text", None)
            texts.append(text if isinstance(text, str) else f"[resource: {resource.uri}]")
        elif kind == "resource_link":
            texts.append(f"[resource: {item.uri}]")
    if not texts and getattr(result, "structuredContent", None) is not None:
        texts.append(json.dumps(result.structuredContent, ensure_ascii=False))
    return "\n".join(texts)

"""The command line's tools: ``r1chat tools`` (list, ``--json``), ``r1chat tools import FILE``,
and what ``r1chat ask --tools`` needs: approval on the controlling terminal and tool activity
on stderr (or as JSON-lines events).

Approval reads ``/dev/tty``, not stdin, so ``git diff | r1chat ask --tools`` still asks. Without
a terminal a call is refused (the model is told) unless ``--approve-tools`` was given.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from r1chat.config import Settings
from r1chat.sanitize import strip_controls, to_json
from r1chat.tools import INSTALL_HINT, ApprovalRequest, Approver, ServerState, ServerStatus, ToolHub, Verdict
from r1chat.tools.events import ToolCallEnded, ToolCallStarted, ToolNote, ToolsUnavailable

NO_SERVERS = "No MCP servers are configured: add [mcp.servers.NAME] to config.toml, or run 'r1chat tools import FILE'."
NO_TERMINAL = ("no terminal to ask on, so the tool call was refused; "
               "--approve-tools runs every call without asking")
_ANSWERS = {"": Verdict.DENY, "y": Verdict.ONCE, "yes": Verdict.ONCE, "a": Verdict.ALWAYS, "always": Verdict.ALWAYS,
            "n": Verdict.DENY, "no": Verdict.DENY, "s": Verdict.STOP, "stop": Verdict.STOP}


class ToolsFailure(Exception):
    """A tools command that cannot do what was asked; the message is one line for a person."""


# --- r1chat tools ------------------------------------------------------------------------------


def _status_dict(status: ServerStatus) -> dict[str, Any]:
    # Never the server's env or headers: those are secrets.
    return {
        "name": status.name,
        "state": str(status.state),
        "reason": status.reason,
        "trust": status.trust,
        "log": str(status.log_path) if status.log_path else None,
        "tools": [{"name": t.name, "description": t.description, "enabled": t.enabled,
                   "input_schema": t.input_schema} for t in status.tools],
    }


def _status_lines(status: ServerStatus) -> list[str]:
    head = f"{status.name}  {status.state}"
    if status.state is ServerState.READY:
        head += f"  (trust: {status.trust}, {len(status.tools)} tools)"
    elif status.reason:
        head += f": {status.reason}"
    lines = [head]
    width = max((len(t.name) for t in status.tools), default=0)
    for tool in status.tools:
        description = " ".join(tool.description.split())
        off = "" if tool.enabled else "  (not offered)"
        lines.append(f"  {tool.name:<{width}}  {description[:100]}{off}")
    return [strip_controls(line) for line in lines]


async def list_tools(settings: Settings, as_json: bool, out: TextIO = sys.stdout) -> int:
    if not settings.mcp_servers:
        if as_json:
            out.write("[]\n")
            return 0
        raise ToolsFailure(NO_SERVERS)
    from r1chat.crash_log import log_dir

    hub = ToolHub(settings.mcp_servers, log_dir())
    try:
        hub.start()
        await hub.wait_ready(max(settings.tools.start_wait, 10.0))
        statuses = hub.statuses()
    finally:
        await hub.aclose()
    if hub.missing_sdk() and not as_json:
        raise ToolsFailure(INSTALL_HINT)
    if as_json:
        out.write(to_json([_status_dict(s) for s in statuses], indent=2) + "\n")
    else:
        for status in statuses:
            out.write("\n".join(_status_lines(status)) + "\n")
    return 1 if any(s.state in (ServerState.FAILED, ServerState.MISSING_SDK) for s in statuses) else 0


# --- r1chat tools import FILE ----------------------------------------------------------------------


def import_servers(settings: Settings, file: str, out: TextIO = sys.stdout) -> int:
    """Add the servers of a Claude-Desktop-style ``{"mcpServers": {...}}`` file to config.toml
    (protocols.md F.9). Servers already configured are left as they are."""
    from r1chat.config_write import ConfigWriteError, save_changes

    try:
        data = json.loads(Path(file).read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ToolsFailure(f"{file}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    except ValueError as exc:
        raise ToolsFailure(f"{file}: not JSON ({exc})") from None
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(servers, dict) or not servers:
        raise ToolsFailure(f"{file}: has no \"mcpServers\" object to import")
    changes: dict[tuple[str, ...], Any] = {}
    added, skipped = [], []
    for name, entry in servers.items():
        table = _server_table(entry)
        if table is None:
            skipped.append(f"{name} (neither a command nor a url)")
        elif name in settings.mcp_servers:
            skipped.append(f"{name} (already configured)")
        else:
            changes[("mcp", "servers", name)] = table
            added.append(name)
    if changes:
        if settings.path is None:
            raise ToolsFailure("no config file to write to")
        try:
            save_changes(settings.path, changes)
        except ConfigWriteError as exc:
            raise ToolsFailure(str(exc)) from None
    for name in added:
        out.write(f"imported {strip_controls(name)}\n")
    for what in skipped:
        out.write(f"skipped {strip_controls(what)}\n")
    if added:
        out.write(f"written to {settings.path}\n")
    return 0 if added or not skipped else 1


def _server_table(entry: Any) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        return None
    table: dict[str, Any] = {}
    if isinstance(entry.get("command"), str) and entry["command"]:
        table["command"] = entry["command"]
        args = entry.get("args")
        if isinstance(args, list) and all(isinstance(a, str) for a in args):
            table["args"] = args
    elif isinstance(entry.get("url"), str) and entry["url"]:
        table["url"] = entry["url"]
    else:
        return None
    for key in ("env", "headers"):
        values = entry.get(key)
        if isinstance(values, dict) and values and all(isinstance(v, str) for v in values.values()):
            table[key] = dict(values)
    if isinstance(entry.get("cwd"), str):
        table["cwd"] = entry["cwd"]
    return table


# --- r1chat ask --tools ----------------------------------------------------------------------------


def terminal_approver(*, approve_all: bool) -> Approver | None:
    """Ask on /dev/tty; None when there is none to ask on (every call is then refused, and the
    model told that no one could approve it), unless every call is approved."""
    if approve_all:
        async def approve_every(request: ApprovalRequest) -> Verdict:
            return Verdict.ONCE

        return approve_every
    try:
        with open("/dev/tty", "rb"):
            pass
    except OSError:
        return None

    async def approve(request: ApprovalRequest) -> Verdict:
        try:
            return await asyncio.to_thread(_ask_on_terminal, request)
        except OSError:  # the terminal went away meanwhile
            return Verdict.DENY

    return approve


def _ask_on_terminal(request: ApprovalRequest) -> Verdict:
    # Two files: a terminal is not seekable, which a text file opened "r+" insists on.
    with (open("/dev/tty", encoding="utf-8", errors="replace") as answers,  # OSError: no terminal
          open("/dev/tty", "w", encoding="utf-8", errors="replace") as tty):
        arguments = strip_controls(to_json(request.arguments, indent=2))
        tty.write(f"\nr1chat: the model wants to run {strip_controls(request.server)}.{strip_controls(request.tool)} with\n"
                  f"{arguments}\n")
        while True:
            tty.write("Run it? [y]es once, [a]lways in this conversation, [n]o, [s]top the answer: ")
            tty.flush()
            line = answers.readline()
            if not line:  # end of input on the terminal: no
                return Verdict.DENY
            verdict = _ANSWERS.get(line.strip().lower())
            if verdict is not None:
                return verdict


def describe_call(event: ToolCallStarted) -> str:
    call = event.call
    arguments = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in call.arguments.items())
    if len(arguments) > 120:
        arguments = arguments[:119] + "…"
    name = f"{call.server}.{call.name}" if call.server else call.name
    return strip_controls(f"⚙ {name}({arguments})")


def describe_result(event: ToolCallEnded) -> str:
    result = event.result
    outcome = "denied" if result.denied else "error" if result.is_error else "ok"
    took = f" · {result.seconds:.1f}s" if result.seconds is not None else ""
    return strip_controls(f"⚙ {result.name}{took} · {outcome}")


def tool_event(event: object) -> tuple[str, dict[str, Any]] | None:
    """A tool event as ``ask --json`` writes it (type, fields), or None for other events."""
    if isinstance(event, ToolCallStarted):
        call = event.call
        return "tool_call", {"id": call.id, "server": call.server, "name": call.name, "arguments": call.arguments}
    if isinstance(event, ToolCallEnded):
        result = event.result
        return "tool_result", {"id": result.call_id, "name": result.name, "text": result.text,
                               "is_error": result.is_error, "denied": result.denied, "seconds": result.seconds}
    if isinstance(event, ToolNote):
        return "warning", {"message": event.text}
    if isinstance(event, ToolsUnavailable):
        return "warning", {"message": event.reason}
    return None

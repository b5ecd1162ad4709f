"""Tool settings: ``[tools]`` (the loop's limits) and ``[mcp.servers.NAME]`` (where tools come from).

    [tools]
    step_limit = 8          # requests with tools in one turn; then one last request without
    call_timeout = 60       # seconds one call may take
    result_limit = 16000    # characters of a result sent back to the model
    start_wait = 5          # seconds a turn waits for servers still starting

    [mcp.servers.files]
    command = "uvx"
    args = ["mcp-server-filesystem", "/home/me/notes"]
    env = { TOKEN = "${MY_TOKEN}" }   # secret: never shown, logged or exported; ${VAR} from the environment
    trust = "ask"               # or "always": calls run without asking
    allow = ["read_file"]       # only these tools are offered (default: all)
    deny = ["write_file"]       # never these

    [mcp.servers.remote]
    url = "https://host/mcp"    # Streamable HTTP
    headers = { Authorization = "Bearer ..." }   # secret too
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand(values: Mapping[str, str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``${NAME}`` in env and header values taken from the environment (as Claude Desktop's and
    oterm's configs write them, protocols.md F.9), so a key need not sit in the file."""
    environ = os.environ if environ is None else environ
    return {key: _VARIABLE.sub(lambda m: environ.get(m.group(1), ""), value) for key, value in values.items()}


@dataclass(slots=True)
class ToolSettings:
    step_limit: int = 8
    call_timeout: float = 60.0
    result_limit: int = 16_000
    start_wait: float = 5.0


@dataclass(slots=True)
class MCPServerConfig:
    name: str
    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    trust: str = "ask"
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    cwd: str | None = None

    def __repr__(self) -> str:  # a traceback or a log line never carries env or headers
        where = self.url or " ".join([self.command or "", *self.args])
        return f"MCPServerConfig({self.name!r}, {where!r})"

    def offers(self, tool: str) -> bool:
        """Whether ``allow``/``deny`` let the model see ``tool``."""
        return (not self.allow or tool in self.allow) and tool not in self.deny

    @property
    def secrets(self) -> list[str]:
        """The values never to show (env and header values), longest first."""
        values = [v for v in (*expand(self.env).values(), *expand(self.headers).values()) if v and len(v) >= 4]
        return sorted(values, key=len, reverse=True)


TOOLS_KEYS: dict[str, tuple[type, ...]] = {
    "step_limit": (int,),
    "call_timeout": (int, float),
    "result_limit": (int,),
    "start_wait": (int, float),
}
TOOLS_RANGES: dict[str, tuple[float, float]] = {
    "step_limit": (1, 100),
    "call_timeout": (1, 86_400),
    "result_limit": (100, 10_000_000),
    "start_wait": (0, 120),
}
SERVER_KEYS: dict[str, tuple[type, ...]] = {
    "command": (str,),
    "args": (list,),
    "env": (dict,),
    "url": (str,),
    "headers": (dict,),
    "enabled": (bool,),
    "trust": (str,),
    "allow": (list,),
    "deny": (list,),
    "cwd": (str,),
}
TRUST = ("ask", "always")

Problem = Callable[[str, str, str], None]  # (table, key, what is wrong)


def apply_tools(settings: ToolSettings, table: dict[str, Any], problem: Problem) -> None:
    """``[tools]`` values already checked for type; out-of-range ones are reported and skipped."""
    for key, value in table.items():
        low, high = TOOLS_RANGES[key]
        if not low <= value <= high:
            problem("tools", key, f"should be from {low:g} to {high:g}, not {value:g}; using {getattr(settings, key):g}")
        else:
            setattr(settings, key, type(getattr(settings, key))(value))


def server_from_table(name: str, table: dict[str, Any], problem: Problem) -> MCPServerConfig | None:
    """One ``[mcp.servers.NAME]`` table (types already checked); None when it cannot be used."""
    where = f"mcp.servers.{name}"
    server = MCPServerConfig(name)
    for key in ("args", "allow", "deny"):
        items = table.get(key, [])
        if not all(isinstance(item, str) for item in items):
            problem(where, key, "should be a list of strings")
            return None
        setattr(server, key, list(items))
    for key in ("env", "headers"):
        values = table.get(key, {})
        if not all(isinstance(v, str) for v in values.values()):
            problem(where, key, "should be a table of strings")
            return None
        setattr(server, key, dict(values))
    server.command, server.url, server.cwd = table.get("command"), table.get("url"), table.get("cwd")
    server.enabled = table.get("enabled", True)
    trust = table.get("trust", "ask")
    if trust not in TRUST:
        problem(where, "trust", f"should be one of {', '.join(TRUST)}, not '{trust}'; using ask")
        trust = "ask"
    server.trust = trust
    if bool(server.command) == bool(server.url):
        problem(where, "command", "a server needs either command (stdio) or url (Streamable HTTP), not both")
        return None
    return server

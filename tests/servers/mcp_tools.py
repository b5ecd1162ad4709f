"""A real MCP server over stdio, written with the SDK's FastMCP: a quick tool, a slow one, one
that fails, and one whose answer carries terminal escapes (protocols.md F.11).

    python -m tests.servers.mcp_tools      (or: python tests/servers/mcp_tools.py)
"""

from __future__ import annotations

import sys
import time

from mcp.server.fastmcp import FastMCP

server = FastMCP("probe")


@server.tool()
def add(a: int, b: int = 2) -> int:
    """Add two numbers."""
    return a + b


@server.tool()
def slow(seconds: float = 30.0) -> str:
    """Wait, then say so."""
    time.sleep(seconds)
    return f"waited {seconds} s"


@server.tool()
def boom(why: str = "kaboom") -> str:
    """Always fails."""
    raise RuntimeError(why)


@server.tool()
def shout(text: str) -> str:
    """Answers with terminal escape sequences around the text, and a lot of it."""
    return "\x1b]52;c;cHduZWQ=\x07\x1b[31m" + text.upper() + "\x1b[0m " + "x" * 50_000


if __name__ == "__main__":
    print("probe: starting on stdio", file=sys.stderr, flush=True)
    server.run()

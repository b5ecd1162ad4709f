"""A real MCP server over stdio, written with the SDK's FastMCP: a quick tool, a slow one, one
that fails, one whose answer carries terminal escapes (protocols.md F.11), and one that says
whether it was given an environment variable.

    python -m tests.servers.mcp_tools               (stdio)
    python -m tests.servers.mcp_tools --http PORT   (Streamable HTTP at http://127.0.0.1:PORT/mcp)
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.fastmcp import FastMCP

server = FastMCP("probe")


@server.tool()
def add(a: int, b: int = 2) -> int:
    """Add two numbers."""
    return a + b


@server.tool()
async def slow(seconds: float = 30.0) -> str:
    """Wait, then say so."""  # async: a stopped call does not hold up the server's next ones
    await asyncio.sleep(seconds)
    return f"waited {seconds} s"


@server.tool()
def boom(why: str = "kaboom") -> str:
    """Always fails."""
    raise RuntimeError(why)


@server.tool()
def shout(text: str) -> str:
    """Answers with terminal escape sequences around the text, and a lot of it."""
    return "\x1b]52;c;cHduZWQ=\x07\x1b[31m" + text.upper() + "\x1b[0m " + "x" * 50_000


@server.tool()
def env(name: str) -> str:
    """Whether the server was given an environment variable (never its value)."""
    return f"{name} is set, {len(os.environ.get(name, ''))} characters" if name in os.environ else f"{name} is not set"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":  # Streamable HTTP on 127.0.0.1:PORT/mcp
        server.settings.port = int(sys.argv[2])
        server.settings.log_level = "WARNING"
        server.run(transport="streamable-http")
    else:
        print("probe: starting on stdio", file=sys.stderr, flush=True)
        server.run()

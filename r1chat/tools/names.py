"""The name a model calls a tool by.

MCP tool names may hold dots and run to 128 characters; chat APIs take ``^[a-zA-Z0-9_-]{1,64}$``
(protocols.md F.4, F.8). A tool is offered as ``server__tool``, cleaned and cut where needed, with
a short hash of the real pair so that two tools never share a name. The name depends on the pair
alone, so a stored call is sent back under the name it was made with.
"""

from __future__ import annotations

import hashlib
import re

_UNFIT = re.compile(r"[^a-zA-Z0-9_-]")
LONGEST = 64


def wire_name(server: str, tool: str) -> str:
    if not server:
        return tool  # a name the model made up: sent back as it was called
    plain = f"{server}__{tool}"
    clean = _UNFIT.sub("_", plain)
    if clean == plain and len(clean) <= LONGEST:
        return clean
    digest = hashlib.sha256(f"{server}\0{tool}".encode()).hexdigest()[:8]
    return f"{clean[: LONGEST - 9]}_{digest}"

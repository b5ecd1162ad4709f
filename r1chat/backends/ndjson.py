"""Newline-delimited JSON (Ollama's streams), read from bytes as they arrive.

Lines are cut at ``\\n`` only. U+0085, U+2028 and U+2029 are line breaks to ``str.splitlines``
(and so to httpx's ``aiter_lines`` and the ``ollama`` client) but plain characters inside JSON
strings, where Go's encoder leaves U+0085 raw.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

CONTENT_TYPE = "application/x-ndjson"

_loads = json.loads


class NDJSONDecoder:
    """JSON objects from NDJSON fed in chunks of any size, cut anywhere.

    Blank lines, lines that are not JSON and JSON that is not an object are skipped: one stray
    line must not end a whole answer (the ``ollama`` client dies on ``json.loads('')``,
    protocols.md A.4). ``strict=True`` is for a body that does not say it is NDJSON: there a line
    that is not a JSON object raises ``ValueError``, since it is likely not Ollama at all.
    """

    __slots__ = ("_pending", "_strict")

    def __init__(self, *, strict: bool = False) -> None:
        self._pending = bytearray()  # the start of a line whose end has not arrived
        self._strict = strict

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        if b"\n" not in data:
            self._pending += data
            return []
        lines = data.split(b"\n")
        if self._pending:
            self._pending += lines[0]
            lines[0] = bytes(self._pending)
            self._pending.clear()
        rest = lines.pop()
        if rest:
            self._pending += rest
        return self._objects(lines)

    def close(self) -> list[dict[str, Any]]:
        """The last line, when the body did not end with a newline."""
        if not self._pending:
            return []
        line = bytes(self._pending)
        self._pending.clear()
        return self._objects([line])

    def _objects(self, lines: list[bytes]) -> list[dict[str, Any]]:
        objects = []
        for line in lines:
            try:
                value = _loads(line)
            except ValueError:  # UnicodeDecodeError included
                if self._strict and line.strip():
                    raise
                continue
            if type(value) is dict:
                objects.append(value)
            elif self._strict:
                raise ValueError(f"a line holds JSON that is not an object: {line[:60]!r}")
        return objects


class CleanNDJSON(httpx.AsyncByteStream):
    """An NDJSON body with only its JSON objects left, one a line, ASCII-escaped: what the
    ``ollama`` client can read (its streams are pulls). Lines are re-framed whole, so a line
    split across network reads is never mistaken for a broken one."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        decoder = NDJSONDecoder()
        async for chunk in self._inner:
            if objects := decoder.feed(chunk):
                yield _lines(objects)
        if objects := decoder.close():
            yield _lines(objects)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _lines(objects: list[dict[str, Any]]) -> bytes:
    # json.dumps escapes every non-ASCII character, U+2028 and friends included.
    return "".join(json.dumps(obj) + "\n" for obj in objects).encode()

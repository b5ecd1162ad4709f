"""A small, strict Server-Sent Events reader, fed one line at a time.

It follows the WHATWG "event stream interpretation" rules, so comments, multi-line data and odd
spacing are read the way browsers read them. It knows nothing of JSON or ``[DONE]``: what an
event's data means is the caller's business.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from dataclasses import dataclass

_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Turns lines (without their line endings) into events.

    ``id`` follows the spec's "last event ID": once set it stays on every later event until the
    stream sets another. ``retry`` is reported once, on the next event dispatched after it.
    """

    def __init__(self) -> None:
        self.comments = 0
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None
        self._first_line = True

    def feed_line(self, line: str) -> ServerSentEvent | None:
        """Read one line; return the event a blank line completes, if any."""
        # Callers reading raw chunks may hand over the terminator too; httpx strips it.
        if line.endswith("\r\n"):
            line = line[:-2]
        elif line.endswith(("\r", "\n")):
            line = line[:-1]
        if self._first_line:
            self._first_line = False
            line = line.removeprefix(_BOM)

        if not line:
            return self._dispatch()
        if line.startswith(":"):
            # DeepSeek sends ": keep-alive" while a request is queued (protocols.md B.3);
            # the count lets an idle watchdog see that the server is still there.
            self.comments += 1
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self._retry = int(value)
        return None

    def flush(self) -> ServerSentEvent | None:
        """End of stream: dispatch what is pending.

        The spec discards an event left without its closing blank line, but servers and proxies
        often end the body right after the last ``data:`` line, and that line is the answer's end.
        """
        return self._dispatch()

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            # A blank line after only event/id/retry fields dispatches nothing (spec), but the
            # event type must not leak into the next event.
            self._event = ""
            return None
        event = ServerSentEvent(
            data="\n".join(self._data),
            event=self._event or "message",
            id=self._last_id,
            retry=self._retry,
        )
        self._data = []
        self._event = ""
        self._retry = None
        return event


async def aiter_lines(chunks: AsyncIterable[str]) -> AsyncIterator[str]:
    """Lines as SSE ends them: CRLF, LF or CR only.

    Not ``httpx.Response.aiter_lines()``: that splits like ``str.splitlines``, also at U+0085,
    U+2028 and U+2029, which JSON leaves unescaped, so a token holding one would cut its event
    in two and lose it.
    """
    pending = ""
    async for chunk in chunks:
        if not chunk:
            continue
        pending += chunk
        # A CR at the very end may be the first half of a CRLF: keep it until the next chunk.
        end = len(pending) - 1 if pending.endswith("\r") else len(pending)
        start = 0
        while True:
            newline = pending.find("\n", start, end)
            carriage = pending.find("\r", start, end)
            if newline < 0 and carriage < 0:
                break
            if carriage < 0 or 0 <= newline < carriage:
                yield pending[start:newline]
                start = newline + 1
            else:
                yield pending[start:carriage]
                start = carriage + (2 if pending.startswith("\n", carriage + 1) else 1)
        pending = pending[start:]
    if pending.endswith("\r"):
        pending = pending[:-1]
        yield pending
    elif pending:
        yield pending


async def aiter_events(
    lines: AsyncIterable[str], decoder: SSEDecoder | None = None
) -> AsyncGenerator[ServerSentEvent, None]:
    """Events from lines such as ``httpx.Response.aiter_lines()``.

    Pass your own ``decoder`` to watch its ``comments`` count while the stream runs.
    """
    if decoder is None:
        decoder = SSEDecoder()
    async for line in lines:
        event = decoder.feed_line(line)
        if event is not None:
            yield event
    event = decoder.flush()
    if event is not None:
        yield event

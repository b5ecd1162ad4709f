"""What Ollama's failures mean, in words a person can act on (protocols.md A.4).

Ollama says what went wrong as ``{"error": "..."}``: in the body of an HTTP error, or as a line
of a stream that had already started (status -1 here, as the ``ollama`` client reports it).
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pydantic

from r1chat.backends import ollama_host_checked
from r1chat.backends.base import (
    BackendError,
    BadResponse,
    ContextOverflow,
    ModelNotFound,
    RateLimited,
    ServerError,
    StreamBroken,
    Unreachable,
    connect_failure,
)

with ollama_host_checked():
    import ollama

IN_STREAM = -1  # the status of an error that came as a line of the stream


class OllamaSaid(Exception):
    """An ``{"error": ...}`` from Ollama's chat path: an HTTP error's body, or a line of the stream."""

    def __init__(self, error: Any, status: int = IN_STREAM) -> None:
        super().__init__(error)
        self.error = str(error)
        self.status = status


def error_text(body: str) -> str:
    """The message of an error body: its ``error`` when it is Ollama's JSON, else the body."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    return data.get("error", body) if isinstance(data, dict) else body


class OllamaErrors:
    """Maps what went wrong talking to one Ollama server to a ``BackendError``."""

    def __init__(self, url: str, read_timeout: float) -> None:
        self.url = url
        self.read_timeout = read_timeout

    def map(self, exc: BaseException, model: str | None = None, *, started: bool = False) -> BackendError:
        """Any exception from the chat path or the ``ollama`` client; re-raises what is not a
        failure of the server or the connection."""
        if isinstance(exc, BackendError):
            return exc
        if isinstance(exc, OllamaSaid):
            return self.said(exc.error, exc.status, model, started=started)
        if isinstance(exc, ollama.ResponseError):
            return self.said(exc.error, exc.status_code, model, started=started)
        if isinstance(exc, (ConnectionError, httpx.ConnectError, httpx.ConnectTimeout)):
            # The ollama client raises its own ConnectionError "from None": the httpx error, and
            # the resolver's or the socket's under it, are still its context.
            return connect_failure(
                self.url, exc, hint="Is Ollama running? Start it with 'ollama serve' or set OLLAMA_HOST."
            )
        if isinstance(exc, httpx.ReadTimeout):
            what = "stopped sending" if started else "sent nothing"
            return StreamBroken(
                f"Ollama at {self.url} {what} for {self.read_timeout:g} s. The model may be stuck or the "
                "machine overloaded; try again, or raise read_timeout in the config."
            )
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            if started:
                return StreamBroken(
                    f"The connection to Ollama at {self.url} broke mid-answer ({exc or type(exc).__name__}). Try again."
                )
            return Unreachable(self.url, f"connection dropped: {exc or type(exc).__name__}")
        if isinstance(exc, pydantic.ValidationError):
            return BadResponse(f"Ollama at {self.url} sent data r1chat does not understand: {exc.errors()[0].get('msg', exc)}")
        if isinstance(exc, (ValueError, TypeError, KeyError, AttributeError)):
            # Not JSON, or JSON of another shape, where Ollama's was expected: another server on
            # this port, a proxy's page, or a very different Ollama.
            return BadResponse(
                f"{self.url} answered with something that is not Ollama's API ({type(exc).__name__}: "
                f"{str(exc)[:120]}). Is it an Ollama server?"
            )
        if isinstance(exc, httpx.HTTPError):
            return BackendError(f"HTTP error talking to Ollama at {self.url}: {exc}")
        raise exc

    def said(self, error: Any, status: int, model: str | None, *, started: bool) -> BackendError:
        """What Ollama's own ``error`` text means, by its status (``IN_STREAM`` for a line)."""
        text = str(error).strip().rstrip(".")
        lower = text.lower()
        if status == IN_STREAM and started:
            return StreamBroken(f"Ollama stopped mid-answer: {text}. Try again; if it keeps happening, Ollama's log says why.")
        if "model" in lower and (status == 404 or "not found" in lower):
            return ModelNotFound(model or _quoted_model(text) or "?", text)
        if status == 404:
            return BackendError(f"{self.url} has no such endpoint ({text}). Is it an Ollama server?", status=404)
        if "context length" in lower or "exceeds the context" in lower or "context size" in lower:
            return ContextOverflow(
                f"The prompt does not fit the model's context window: {text}. Raise num_ctx or start a new chat.", status=status
            )
        if status == 429:
            return RateLimited(f"Ollama is rate limiting requests: {text}. Try again in a moment.")
        if status == 503 or "server busy" in lower:
            return ServerError(f"Ollama is busy: {text}. Try again in a moment.", status=status)
        if status == IN_STREAM:
            return ServerError(f"Ollama reported an error: {text}. Try again; if it keeps happening, Ollama's log says why.")
        if status >= 500:
            return ServerError(
                f"Ollama failed ({status}): {text}. Try again; if it keeps happening, Ollama's log says why.", status=status
            )
        return BackendError(f"Ollama rejected the request ({status}): {text}", status=status)


def _quoted_model(text: str) -> str | None:
    match = re.search(r"model ['\"]([^'\"]+)['\"]", text)
    return match.group(1) if match else None

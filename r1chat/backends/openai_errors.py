"""What an OpenAI-compatible server's failures mean, in words a person can act on.

Servers disagree on envelopes and codes (protocols.md B.6 and C), so the classification looks at
the HTTP status, the envelope's ``type``/``code`` and the server's own message together. The API
key never appears in a message: servers sometimes echo it back.
"""

from __future__ import annotations

import json
import re
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from r1chat.backends.base import (
    AuthFailed,
    BackendError,
    BadResponse,
    ContextOverflow,
    InsufficientBalance,
    ModelNotFound,
    RateLimited,
    ServerError,
    StreamBroken,
    Unreachable,
    connect_failure,
)

_CONTEXT_MARKERS = (
    "maximum context length",
    "exceed_context_size",
    "exceeds the available context",
    "context length",
    "context_length_exceeded",
    "too many tokens",
)
# How servers say a model name is unknown: DeepSeek 400 "Model Not Exist", vLLM/OpenAI 404 "The model
# `x` does not exist", OpenRouter 400 "x is not a valid model ID", LM Studio/Ollama 404 "... not found"
# (protocols.md B.6, C). A bare 404 "Not Found" is a wrong base URL, not a wrong model.
_MISSING_MARKERS = ("not exist", "not found", "not a valid model", "no such model", "unknown model")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def error_message(body: Any) -> str:
    """The server's own words from any of the error envelopes in use (protocols.md B.6, C)."""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            message = error.get("message") or error.get("msg") or error.get("detail")
            if message:
                return str(message)
            return json.dumps(error)[:300]
        if isinstance(error, str):
            return error
        if body.get("message"):
            return str(body["message"])
        if body.get("detail"):
            return str(body["detail"])
    return str(body)[:300]


def _error_kind(body: Any) -> str:
    """The machine-readable ``type`` and ``code`` of an error envelope, where markers often are
    (llama.cpp ``exceed_context_size_error``, OpenAI ``context_length_exceeded``)."""
    error = body.get("error", body) if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ""
    return " ".join(str(error[key]) for key in ("type", "code") if isinstance(error.get(key), str))


def _readable(text: str) -> str:
    """A non-JSON body in a few words: a proxy's HTML error page by its title, not its markup."""
    if text.lstrip().startswith("<"):
        title = _TITLE.search(text)
        text = title.group(1) if title else _TAG.sub(" ", text)
    return " ".join(text.split())[:300]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class OpenAIErrors:
    """Turns one provider's HTTP failures, error envelopes and error events into BackendErrors."""

    def __init__(self, provider: str, url: str, key: str | None, read_timeout: float) -> None:
        self.provider = provider
        self.url = url
        self.key = key
        self.read_timeout = read_timeout

    def redact(self, text: str) -> str:
        if self.key and self.key in text:
            text = text.replace(self.key, "****")
        return text

    def transport(self, exc: httpx.HTTPError, *, responded: bool = False, started: bool = False) -> BackendError:
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            return connect_failure(self.url, exc)
        if isinstance(exc, httpx.ReadTimeout):
            what = "stopped sending" if started else "sent nothing"
            return StreamBroken(
                f"{self.url} {what} for {self.read_timeout:g} s. Try again, or raise read_timeout in the config."
            )
        # Once the status line has arrived the server was reached: a drop now is a broken stream.
        if responded or started:
            when = "mid-answer" if started else "before the answer began"
            return StreamBroken(f"The connection to {self.url} broke {when} ({exc or type(exc).__name__}). Try again.")
        return Unreachable(self.url, f"{exc or type(exc).__name__}")

    def status(self, response: httpx.Response, body: bytes, model: str | None) -> BackendError:
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            parsed = _readable(body.decode("utf-8", "replace")) or response.reason_phrase
        retry_after = _retry_after(response.headers.get("retry-after"))
        return self.envelope(response.status_code, parsed, model, retry_after=retry_after)

    def envelope(self, status: int | None, body: Any, model: str | None, *, retry_after: float | None = None) -> BackendError:
        """The BackendError for an error envelope, from an HTTP status or an error event (no status)."""
        text = self.redact(error_message(body))
        said = f"{status}: {text}" if status else text
        lower = f"{text} {_error_kind(body)}".lower()
        if status in (401, 403):
            kind = "was rejected" if status == 401 else "is not allowed to do this"
            return AuthFailed(
                f"The API key for {self.provider} {kind} ({said}). "
                f"Check the key (config file or environment variable).",
                status=status,
            )
        if status == 402:
            return InsufficientBalance(
                f"{self.provider} says the account has no balance left ({said}). Top up the account.",
                status=status,
            )
        if status == 429:
            return RateLimited(f"{self.provider} is rate limiting requests ({said}).", retry_after=retry_after)
        if any(marker in lower for marker in _CONTEXT_MARKERS):
            return ContextOverflow(
                f"The conversation does not fit the model's context window ({text}). Start a new chat or shorten the prompt.",
                status=status,
            )
        if model and ("model_not_found" in lower or (
            any(marker in lower for marker in _MISSING_MARKERS) and ("model" in lower or model.lower() in lower)
        )):
            return ModelNotFound(model, text, hint="Run 'r1chat models' to see the names this server offers.")
        if status == 404:
            return BackendError(
                f"{self.url} has no such endpoint ({said}). Check --base-url (it usually ends in /v1).", status=404
            )
        if status == 503:
            return ServerError(f"{self.provider} is overloaded ({said}). Try again shortly.", status=status)
        if status is None or status >= 500:
            return ServerError(f"{self.provider} failed ({said}). Try again shortly.", status=status)
        return BackendError(f"{self.provider} rejected the request ({said}).", status=status)

    def not_a_stream(self, kind: str, text: str) -> BadResponse:
        what = kind.split(";")[0].strip() or "no content type"
        snippet = self.redact(_readable(text))[:120] or "an empty body"
        return BadResponse(
            f"{self.url} answered with something that is not a chat completions stream ({what}: {snippet}). "
            f"Check the base URL: OpenAI-compatible servers usually serve it under /v1."
        )

    def stream_event(self, chunk: dict[str, Any], model: str) -> BackendError:
        """An error event before any text: as good as an HTTP error, so classify it like one."""
        error = chunk.get("error")
        code = error.get("code") if isinstance(error, dict) else chunk.get("code")
        status = code if isinstance(code, int) and 400 <= code <= 599 else None
        return self.envelope(status, chunk, model)

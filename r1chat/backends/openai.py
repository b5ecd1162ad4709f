"""OpenAI-compatible chat completions over httpx: DeepSeek, OpenRouter, vLLM, llama.cpp, LM Studio."""

from __future__ import annotations

import json
import re
import socket
import time
from contextlib import aclosing
from email.utils import parsedate_to_datetime
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from r1chat import __version__
from r1chat.backends.base import (
    AuthFailed,
    BackendError,
    BadResponse,
    ChatOptions,
    Content,
    ContextOverflow,
    Done,
    InsufficientBalance,
    ModelDetails,
    ModelInfo,
    ModelNotFound,
    PullProgress,
    RateLimited,
    Reasoning,
    ServerError,
    StreamBroken,
    StreamEvent,
    TurnStats,
    Unreachable,
    looks_like_r1,
)
from r1chat.backends.sse import aiter_events
from r1chat.reasoning import ThinkSplitter

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
_SSE_FIELDS = (":", "data:", "event:", "id:", "retry:")


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


def _connect_reason(exc: BaseException) -> str:
    # httpx says "All connection attempts failed"; the cause underneath says why.
    cause: BaseException | None = exc
    for _ in range(8):
        if cause is None:
            break
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host name not found"
        cause = cause.__cause__ or cause.__context__
    return str(exc) or "connection failed"


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


def _reasoning_of(delta: dict[str, Any]) -> str:
    # First non-empty of the fields servers use; OpenRouter sends the same text twice.
    for key in ("reasoning_content", "reasoning"):
        value = delta.get(key)
        if isinstance(value, str) and value:
            return value
    details = delta.get("reasoning_details")
    if isinstance(details, list):
        parts = []
        for item in details:
            if isinstance(item, dict):
                text = item.get("text") or item.get("summary")
                if isinstance(text, str):
                    parts.append(text)
        return "".join(parts)
    return ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class OpenAIBackend:
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        provider: str = "openai",
        extra_body: dict[str, Any] | None = None,
        assume_thinking: bool | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 600.0,
    ) -> None:
        self.provider = provider
        self.url = base_url.rstrip("/")
        self.read_timeout = read_timeout
        self.extra_body = dict(extra_body or {})
        self.assume_thinking = assume_thinking
        self._key = api_key
        headers = {"User-Agent": f"r1chat/{__version__}", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.AsyncClient(
            base_url=self.url + "/",
            headers=headers,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            follow_redirects=True,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- errors ------------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        if self._key and self._key in text:
            text = text.replace(self._key, "****")
        return text

    def _transport_error(self, exc: httpx.HTTPError, *, responded: bool = False, started: bool = False) -> BackendError:
        if isinstance(exc, httpx.ConnectError):
            return Unreachable(self.url, _connect_reason(exc))
        if isinstance(exc, httpx.ConnectTimeout):
            return Unreachable(self.url, "timed out connecting")
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

    def _status_error(self, response: httpx.Response, body: bytes, model: str | None) -> BackendError:
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            parsed = _readable(body.decode("utf-8", "replace")) or response.reason_phrase
        retry_after = _retry_after(response.headers.get("retry-after"))
        return self._error_for(response.status_code, parsed, model, retry_after=retry_after)

    def _error_for(self, status: int | None, body: Any, model: str | None, *, retry_after: float | None = None) -> BackendError:
        """The BackendError for an error envelope, from an HTTP status or an error event (no status)."""
        text = self._redact(error_message(body))
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
            return BackendError(f"{self.url} has no such endpoint ({said}). Check --base-url (it usually ends in /v1).", status=404)
        if status == 503:
            return ServerError(f"{self.provider} is overloaded ({said}). Try again shortly.", status=status)
        if status is None or status >= 500:
            return ServerError(f"{self.provider} failed ({said}). Try again shortly.", status=status)
        return BackendError(f"{self.provider} rejected the request ({said}).", status=status)

    # --- models ------------------------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        try:
            response = await self._client.get("models")
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, started=False) from None
        if response.status_code >= 400:
            raise self._status_error(response, response.content, None)
        try:
            data = response.json().get("data", [])
        except (ValueError, AttributeError):
            raise BadResponse(
                f"{self.url}/models did not return a model list. Check the base URL (it usually ends in /v1)."
            ) from None
        models = []
        for item in data if isinstance(data, list) else []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                # OpenRouter says context_length, vLLM max_model_len.
                context = _int(item.get("context_length")) or _int(item.get("max_model_len"))
                models.append(ModelInfo(name=item["id"], context_length=context))
        return models

    async def show(self, model: str) -> ModelDetails:
        for info in await self.list_models():
            if info.name == model:
                return ModelDetails(name=model, context_length=info.context_length)
        raise ModelNotFound(model, hint="Run 'r1chat models' to see the names this server offers.")

    async def pull(self, model: str) -> AsyncIterator[PullProgress]:
        raise BackendError(f"Pulling models is an Ollama feature; {self.provider} serves its own models.")
        yield  # pragma: no cover - makes this an async generator

    async def delete(self, model: str) -> None:
        raise BackendError(f"Deleting models is an Ollama feature; {self.provider} serves its own models.")

    # --- chat --------------------------------------------------------------------------------

    def _body(self, model: str, messages: Sequence[dict[str, str]], options: ChatOptions) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        r1 = looks_like_r1(model)
        temperature = options.temperature if options.temperature is not None else (0.6 if r1 else None)
        top_p = options.top_p if options.top_p is not None else (0.95 if r1 else None)
        if temperature is not None:
            body["temperature"] = temperature
        if top_p is not None:
            body["top_p"] = top_p
        if isinstance(options.think, str):
            body["reasoning_effort"] = options.think
        body.update(self.extra_body)
        return body

    async def chat(
        self, model: str, messages: Sequence[dict[str, str]], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        assume = self.assume_thinking if self.assume_thinking is not None else looks_like_r1(model)
        splitter: ThinkSplitter | None = None
        structured = False
        answered = False
        responded = False
        started = False
        finished = False
        stats = TurnStats()
        try:
            async with self._client.stream("POST", "chat/completions", json=self._body(model, messages, options)) as response:
                responded = True
                if response.status_code >= 400:
                    raise self._status_error(response, await response.aread(), model)
                # aclosing: leaving early (an error, [DONE], the caller closing us) must not leave
                # the line readers suspended on a response that is about to be closed.
                async with aclosing(self._chunks(response)) as chunks:
                    async for chunk in chunks:
                        if chunk is None:
                            finished = True
                            break
                        if chunk.get("error") or chunk.get("object") == "error":
                            if started:
                                text = self._redact(error_message(chunk))
                                raise StreamBroken(f"{self.provider} stopped mid-answer ({text}). Try again.")
                            raise self._stream_error(chunk, model)
                        self._read_usage(chunk, stats)
                        choices = chunk.get("choices")
                        for choice in choices if isinstance(choices, list) else []:
                            if not isinstance(choice, dict):
                                continue
                            if isinstance(choice.get("finish_reason"), str) and choice["finish_reason"]:
                                stats.finish_reason = choice["finish_reason"]
                            delta = choice.get("delta") or choice.get("message") or {}
                            if not isinstance(delta, dict):
                                continue
                            reasoning = _reasoning_of(delta)
                            if reasoning:
                                started = structured = True
                                yield Reasoning(reasoning)
                            content = delta.get("content")
                            if isinstance(content, str) and content:
                                started = answered = True
                                if structured and splitter is None:
                                    yield Content(content)
                                else:
                                    # No reasoning field on this server: the trace may be inline.
                                    splitter = splitter or ThinkSplitter(assume_thinking=assume)
                                    for d in splitter.feed(content):
                                        yield Reasoning(d.text) if d.kind == "reasoning" else Content(d.text)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, responded=responded, started=started) from None
        if not finished and stats.finish_reason is None:
            raise StreamBroken(f"{self.url} closed the stream before the answer was finished. Try again.")
        if splitter is not None:
            for d in splitter.close():
                yield Reasoning(d.text) if d.kind == "reasoning" else Content(d.text)
            stats.reasoning_was_answer = self.assume_thinking is None and splitter.held_answer(stats.finish_reason)
            stats.reasoning_truncated = splitter.truncated and not stats.reasoning_was_answer
        if stats.finish_reason == "length" and structured and not answered:
            stats.reasoning_truncated = True
        if stats.finish_reason == "insufficient_system_resource":
            raise StreamBroken(f"{self.provider} stopped the answer: insufficient system resources on its side. Try again.")
        yield Done(stats)

    async def _chunks(self, response: httpx.Response) -> AsyncIterator[dict[str, Any] | None]:
        """The JSON objects of a 200 answer, then ``None`` if the server said it was done."""
        kind = response.headers.get("content-type", "").lower()
        if "html" in kind:
            # A web page (a wrong base URL, a login portal): say so instead of "stream ended".
            page = b""
            async for part in response.aiter_bytes():
                page += part
                if len(page) > 4096:
                    break
            raise self._not_a_stream(kind, page.decode("utf-8", "replace"))
        lines = response.aiter_lines()
        head: list[str] = []
        first_line = ""
        async for line in lines:
            head.append(line)
            if line.strip():
                first_line = line
                break
        # Sniffed, not taken from the content type: some gateways label SSE as application/json.
        if first_line.lstrip().startswith("{"):
            # The server ignored "stream": true and sent one whole completion (or one error).
            text = "\n".join(head + [line async for line in lines])
            try:
                whole = json.loads(text)
            except ValueError:
                whole = None
            if not isinstance(whole, dict) or not ("choices" in whole or whole.get("error")):
                raise self._not_a_stream(kind, text)
            yield whole
            yield None
            return

        async def replay() -> AsyncIterator[str]:
            for line in head:
                yield line
            async for line in lines:
                yield line

        skipped = 0
        seen = False
        async with aclosing(aiter_events(replay())) as events:
            async for event in events:
                if event.data.strip() == "[DONE]":
                    yield None
                    return
                try:
                    chunk = json.loads(event.data)
                except ValueError:
                    skipped += 1
                    continue  # a stray non-JSON event is not worth losing the answer over
                if isinstance(chunk, dict):
                    seen = True
                    yield chunk
        # Only comments before the end is a queue the server gave up on (protocols.md B.3): a broken
        # stream. Nothing SSE-shaped at all is not the protocol.
        sse_shaped = first_line.removeprefix("\ufeff").startswith(_SSE_FIELDS)
        if not seen and (skipped or (first_line and not sse_shaped)):
            raise self._not_a_stream(kind, first_line)

    def _not_a_stream(self, kind: str, text: str) -> BadResponse:
        what = kind.split(";")[0].strip() or "no content type"
        snippet = self._redact(_readable(text))[:120] or "an empty body"
        return BadResponse(
            f"{self.url} answered with something that is not a chat completions stream ({what}: {snippet}). "
            f"Check the base URL: OpenAI-compatible servers usually serve it under /v1."
        )

    def _stream_error(self, chunk: dict[str, Any], model: str) -> BackendError:
        """An error event before any text: as good as an HTTP error, so classify it like one."""
        error = chunk.get("error")
        code = error.get("code") if isinstance(error, dict) else chunk.get("code")
        status = code if isinstance(code, int) and 400 <= code <= 599 else None
        return self._error_for(status, chunk, model)

    @staticmethod
    def _read_usage(chunk: dict[str, Any], stats: TurnStats) -> None:
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            stats.prompt_tokens = _int(usage.get("prompt_tokens"))
            stats.completion_tokens = _int(usage.get("completion_tokens"))
            details = usage.get("completion_tokens_details")
            if isinstance(details, dict):
                stats.reasoning_tokens = _int(details.get("reasoning_tokens"))
        timings = chunk.get("timings")
        if isinstance(timings, dict):
            predicted_ms = timings.get("predicted_ms")
            prompt_ms = timings.get("prompt_ms")
            if isinstance(predicted_ms, (int, float)):
                stats.eval_seconds = predicted_ms / 1000
            if isinstance(prompt_ms, (int, float)):
                stats.prompt_seconds = prompt_ms / 1000

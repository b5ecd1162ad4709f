"""Native Ollama API through the official ``ollama.AsyncClient``."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import httpx
import ollama
import pydantic

from r1chat.backends.base import (
    looks_like_r1,
    BackendError,
    BadResponse,
    ChatOptions,
    Content,
    ContextOverflow,
    Done,
    EffortLevels,
    ModelDetails,
    ModelInfo,
    ModelNotFound,
    OLLAMA_LEVELS_SINCE,
    OLLAMA_MAX_SINCE,
    PullProgress,
    RateLimited,
    Reasoning,
    ServerError,
    StreamBroken,
    StreamEvent,
    TurnStats,
    Unreachable,
    version_number,
)
from r1chat.backends import ollama_url
from r1chat.reasoning import ThinkSplitter

_NANO = 1e-9


# U+0085, U+2028, U+2029 in UTF-8: line breaks to str.splitlines, plain characters to JSON.
_SPLITLINES_ONLY = ("\u0085".encode(), "\u2028".encode(), "\u2029".encode())


class _CleanNDJSON(httpx.AsyncByteStream):
    """Drops blank and malformed NDJSON lines before the ``ollama`` client parses them.

    The client's stream reader dies on ``json.loads('')`` (protocols.md A.4), which would end a
    whole answer over one stray line. Lines are re-framed whole, so a line split across network
    reads is never mistaken for a broken one.
    """

    def __init__(self, inner: httpx.AsyncByteStream, path: str) -> None:
        self._inner = inner
        self._chat = path.endswith("/api/chat")

    def _clean(self, line: bytes) -> bytes | None:
        """The line to pass on, or None to drop it."""
        if not line.strip():
            return None
        try:
            data = json.loads(line)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        if any(mark in line for mark in _SPLITLINES_ONLY):
            # The client reads lines like str.splitlines, which would also cut at these (JSON
            # leaves them raw): send the line with every non-ASCII character escaped.
            line = json.dumps(data).encode()
        if self._chat and "error" not in data and not isinstance(data.get("message"), dict):
            if not data.get("done"):
                return None
            # A final line without its (always empty) message still carries the stats.
            data["message"] = {"role": "assistant", "content": ""}
            return json.dumps(data).encode()
        return line

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pending = bytearray()
        async for chunk in self._inner:
            pending += chunk
            if b"\n" not in chunk:
                continue
            *lines, rest = bytes(pending).split(b"\n")
            pending = bytearray(rest)
            kept = [clean for clean in map(self._clean, lines) if clean is not None]
            if kept:
                yield b"\n".join(kept) + b"\n"
        if (last := self._clean(bytes(pending))) is not None:
            yield last + b"\n"

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Transport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if response.headers.get("content-type", "").startswith("application/x-ndjson"):
            headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-length"]
            return httpx.Response(
                response.status_code,
                headers=headers,
                stream=_CleanNDJSON(response.stream, request.url.path),
                extensions=response.extensions,
            )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _seconds(nanoseconds: int | None) -> float | None:
    return nanoseconds * _NANO if nanoseconds else None


class OllamaBackend:
    provider = "ollama"

    def __init__(
        self,
        host: str | None = None,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 600.0,
        assume_thinking: bool | None = None,
    ) -> None:
        self.url = ollama_url(host)
        self.read_timeout = read_timeout
        self.assume_thinking = assume_thinking
        self._client = ollama.AsyncClient(
            host=self.url,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            transport=_Transport(),
        )
        self._details: dict[str, ModelDetails] = {}
        self._version: str | None = None  # "" once the server would not say

    async def aclose(self) -> None:
        await self._client.close()

    # --- errors ------------------------------------------------------------------------------

    def _map_error(self, exc: BaseException, model: str | None = None, *, started: bool = False) -> BackendError:
        if isinstance(exc, BackendError):
            return exc
        if isinstance(exc, ollama.ResponseError):
            return self._map_response_error(exc, model, started=started)
        if isinstance(exc, (ConnectionError, httpx.ConnectError)):
            return Unreachable(self.url, "connection refused", hint="Is Ollama running? Start it with 'ollama serve' or set OLLAMA_HOST.")
        if isinstance(exc, httpx.ConnectTimeout):
            return Unreachable(self.url, "timed out connecting", hint="Check the host and port (OLLAMA_HOST / --host).")
        if isinstance(exc, httpx.ReadTimeout):
            what = "stopped sending" if started else "sent nothing"
            return StreamBroken(
                f"Ollama at {self.url} {what} for {self.read_timeout:g} s. The model may be stuck or the "
                "machine overloaded; try again, or raise read_timeout in the config."
            )
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            if started:
                return StreamBroken(f"The connection to Ollama at {self.url} broke mid-answer ({exc or type(exc).__name__}). Try again.")
            return Unreachable(self.url, f"connection dropped: {exc or type(exc).__name__}")
        if isinstance(exc, pydantic.ValidationError):
            return BadResponse(f"Ollama at {self.url} sent data r1chat does not understand: {exc.errors()[0].get('msg', exc)}")
        if isinstance(exc, (ValueError, TypeError, KeyError, AttributeError)):
            # Not JSON, or JSON of another shape, where the client expected Ollama's: another
            # server on this port, a proxy's page, or a very different Ollama.
            return BadResponse(
                f"{self.url} answered with something that is not Ollama's API ({type(exc).__name__}: "
                f"{str(exc)[:120]}). Is it an Ollama server?"
            )
        if isinstance(exc, httpx.HTTPError):
            return BackendError(f"HTTP error talking to Ollama at {self.url}: {exc}")
        raise exc

    def _map_response_error(self, exc: ollama.ResponseError, model: str | None, *, started: bool) -> BackendError:
        text = str(exc.error).strip().rstrip(".")
        status = exc.status_code
        lower = text.lower()
        if status == -1 and started:
            return StreamBroken(f"Ollama stopped mid-answer: {text}. Try again; if it keeps happening, Ollama's log says why.")
        if "model" in lower and (status == 404 or "not found" in lower):
            return ModelNotFound(model or _quoted_model(text) or "?", text)
        if status == 404:
            return BackendError(f"{self.url} has no such endpoint ({text}). Is it an Ollama server?", status=404)
        if "context length" in lower or "exceeds the context" in lower or "context size" in lower:
            return ContextOverflow(f"The prompt does not fit the model's context window: {text}. Raise num_ctx or start a new chat.", status=status)
        if status == 429:
            return RateLimited(f"Ollama is rate limiting requests: {text}. Try again in a moment.")
        if status == 503 or "server busy" in lower:
            return ServerError(f"Ollama is busy: {text}. Try again in a moment.", status=status)
        if status == -1:
            return ServerError(f"Ollama reported an error: {text}. Try again; if it keeps happening, Ollama's log says why.")
        if status >= 500:
            return ServerError(
                f"Ollama failed ({status}): {text}. Try again; if it keeps happening, Ollama's log says why.", status=status
            )
        return BackendError(f"Ollama rejected the request ({status}): {text}", status=status)

    # --- models ------------------------------------------------------------------------------

    async def show(self, model: str) -> ModelDetails:
        try:
            info = await self._client.show(model)
        except Exception as exc:  # noqa: BLE001 - mapped or re-raised
            raise self._map_error(exc, model) from None
        model_info = dict(info.modelinfo or {})
        arch = model_info.get("general.architecture")
        context = model_info.get(f"{arch}.context_length") if arch else None
        details = info.details
        result = ModelDetails(
            name=model,
            capabilities=list(info.capabilities or []),
            context_length=context if isinstance(context, int) else None,
            parameters=info.parameters or "",
            template=info.template or "",
            license=info.license or "",
            family=details.family if details else None,
            parameter_size=details.parameter_size if details else None,
            quantization=details.quantization_level if details else None,
        )
        self._details[model] = result
        return result

    async def list_models(self) -> list[ModelInfo]:
        try:
            listing, running = await asyncio.gather(self._client.list(), self._client.ps())
        except Exception as exc:  # noqa: BLE001
            raise self._map_error(exc) from None
        loaded = {m.model or m.name: m for m in running.models}
        models = []
        for entry in listing.models:
            name = entry.model or ""
            details = entry.details
            extra = entry.model_extra or {}
            capabilities = extra.get("capabilities")
            live = loaded.get(name)
            models.append(
                ModelInfo(
                    name=name,
                    size=int(entry.size) if entry.size is not None else None,
                    parameter_size=details.parameter_size if details else None,
                    quantization=details.quantization_level if details else None,
                    family=details.family if details else None,
                    thinking=("thinking" in capabilities) if isinstance(capabilities, list) else None,
                    loaded=live is not None,
                    modified_at=entry.modified_at if isinstance(entry.modified_at, datetime) else None,
                    context_length=getattr(live, "context_length", None) if live else None,
                    vram=int(live.size_vram) if live is not None and live.size_vram is not None else None,
                )
            )
        # /api/tags only lists capabilities on newer servers (>= 0.30); ask /api/show for the rest.
        unknown = [m for m in models if m.thinking is None]
        if unknown:
            shown = await asyncio.gather(*(self._details_for(m.name) for m in unknown), return_exceptions=True)
            for model, details in zip(unknown, shown):
                if isinstance(details, ModelDetails):
                    model.thinking = details.thinking
        return models

    async def version(self) -> str | None:
        """The server's version (``GET /api/version``, asked once); None if it does not say."""
        if self._version is None:
            try:
                # The client has no version() (protocols.md A.5): its own raw request keeps the
                # one connection pool, headers and error handling.
                response = await self._client._request_raw("GET", "/api/version")
                version = response.json().get("version")
            except Exception as exc:  # noqa: BLE001
                error = self._map_error(exc)
                if isinstance(error, Unreachable):
                    raise error from None
                version = None
            self._version = version if isinstance(version, str) else ""
        return self._version or None

    async def effort_levels(self, model: str) -> EffortLevels:
        details = await self._details_for(model)
        if not details.thinking:
            return EffortLevels(why_not=f"{model} does not think (Ollama lists no thinking capability for it), "
                                        "so it takes no thinking levels.")
        version = await self.version()
        number = version_number(version) if version else None
        if number is None or number < OLLAMA_LEVELS_SINCE:
            server = f"Ollama {version}" if version else f"The Ollama at {self.url} (it gives no version)"
            return EffortLevels(why_not=f"{server} takes no thinking levels; 0.18 or later does.")
        return EffortLevels(("low", "medium", "high") + (("max",) if number >= OLLAMA_MAX_SINCE else ()))

    async def _details_for(self, model: str) -> ModelDetails:
        if model not in self._details:
            await self.show(model)
        return self._details[model]

    async def pull(self, model: str) -> AsyncIterator[PullProgress]:
        stream = None
        try:
            stream = await self._client.pull(model, stream=True)
            async for part in stream:
                yield PullProgress(part.status or "", part.digest, part.total, part.completed)
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, ollama.ResponseError) and "file does not exist" in str(exc.error):
                raise ModelNotFound(model, hint="Check the name on the Ollama library (for example deepseek-r1:8b).") from None
            if isinstance(exc, ollama.ResponseError) and "invalid model name" in str(exc.error):
                raise BackendError(f"'{model}' is not a valid model name (for example deepseek-r1:8b).") from None
            raise self._map_error(exc, model) from None
        finally:
            if stream is not None:
                await stream.aclose()
        self._details.pop(model, None)

    async def delete(self, model: str) -> None:
        try:
            await self._client.delete(model)
        except Exception as exc:  # noqa: BLE001
            raise self._map_error(exc, model) from None
        self._details.pop(model, None)

    # --- chat --------------------------------------------------------------------------------

    async def _levels(self, model: str) -> tuple[str, ...]:
        try:
            return (await self.effort_levels(model)).levels
        except BackendError:
            return ()

    def _request_options(self, model: str, options: ChatOptions) -> dict[str, Any]:
        r1 = looks_like_r1(model)
        sampling = {
            # R1 model card: temperature 0.6, top_p 0.95; the Ollama library sets neither.
            "temperature": options.temperature if options.temperature is not None else (0.6 if r1 else None),
            "top_p": options.top_p if options.top_p is not None else (0.95 if r1 else None),
            # Ollama's own default window silently drops long traces (protocols.md A.6).
            "num_ctx": options.num_ctx,
            "num_predict": options.num_predict,
        }
        return {k: v for k, v in sampling.items() if v is not None}

    async def chat(
        self, model: str, messages: Sequence[dict[str, str]], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        try:
            details = await self._details_for(model)
        except (Unreachable, ModelNotFound):
            raise
        except BackendError:
            # /api/show failed some other way: chat without knowing the capabilities (no
            # `think`, which is safe everywhere) rather than not at all.
            details = ModelDetails(name=model)
        thinking = details.thinking
        think = options.think
        if isinstance(think, str) and thinking and think not in await self._levels(model):
            think = None  # a level this server or model would answer 400 to: the default instead
        # ``think`` goes only to models that list the capability: others answer 400.
        think = (think if think is not None else True) if thinking else None
        assume = self.assume_thinking if self.assume_thinking is not None else (thinking or looks_like_r1(model))
        request = dict(
            model=model,
            messages=list(messages),
            stream=True,
            options=self._request_options(model, options),
            keep_alive=options.keep_alive,
        )
        started = False
        stream = None
        splitter: ThinkSplitter | None = None
        native_thinking = False
        answered = False
        try:
            try:
                stream = await self._client.chat(**request, think=think)
                first = await anext(stream)
            except ollama.ResponseError as exc:
                if think is None or "does not support thinking" not in str(exc.error):
                    raise
                # The capability list was stale (model re-created meanwhile): ask again without.
                self._details.pop(model, None)
                stream = await self._client.chat(**request, think=None)
                first = await anext(stream)
            chunk = first
            while True:
                started = True
                message = chunk.message
                if message.thinking:
                    native_thinking = True
                    yield Reasoning(message.thinking)
                if message.content:
                    answered = True
                    if native_thinking and splitter is None:
                        yield Content(message.content)
                    else:
                        splitter = splitter or ThinkSplitter(assume_thinking=assume)
                        for delta in splitter.feed(message.content):
                            yield Reasoning(delta.text) if delta.kind == "reasoning" else Content(delta.text)
                if chunk.done:
                    break
                try:
                    chunk = await anext(stream)
                except StopAsyncIteration:
                    raise StreamBroken(
                        f"Ollama at {self.url} closed the stream before the answer was finished."
                    ) from None
        except StopAsyncIteration:
            raise BadResponse(f"Ollama at {self.url} sent an empty response.") from None
        except Exception as exc:  # noqa: BLE001
            raise self._map_error(exc, model, started=started) from None
        finally:
            if stream is not None:
                await stream.aclose()

        # A window that filled up while the model was still thinking cut the trace off.
        truncated = native_thinking and not answered and chunk.done_reason == "length"
        was_answer = False
        if splitter is not None:
            for delta in splitter.close():
                yield Reasoning(delta.text) if delta.kind == "reasoning" else Content(delta.text)
            was_answer = self.assume_thinking is None and splitter.held_answer(chunk.done_reason)
            truncated = (truncated or splitter.truncated) and not was_answer
        stats = TurnStats(
            prompt_tokens=chunk.prompt_eval_count,
            completion_tokens=chunk.eval_count,
            total_seconds=_seconds(chunk.total_duration),
            load_seconds=_seconds(chunk.load_duration),
            prompt_seconds=_seconds(chunk.prompt_eval_duration),
            eval_seconds=_seconds(chunk.eval_duration),
            finish_reason=chunk.done_reason,
            context_size=options.num_ctx or details.context_length,
            reasoning_truncated=truncated,
            reasoning_was_answer=was_answer,
        )
        yield Done(stats)


def _quoted_model(text: str) -> str | None:
    match = re.search(r"model ['\"]([^'\"]+)['\"]", text)
    return match.group(1) if match else None

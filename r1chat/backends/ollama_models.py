"""The models of an Ollama server through the official ``ollama`` client: list, show, pull,
delete, and the server's version. ``OllamaBackend.models`` is one of these."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import datetime

import httpx

from r1chat.backends import ollama_host_checked
from r1chat.backends.base import (
    BackendError,
    ModelDetails,
    ModelInfo,
    NotInLibrary,
    PullProgress,
    Unreachable,
)
from r1chat.backends.ndjson import CONTENT_TYPE, CleanNDJSON
from r1chat.backends.ollama_errors import OllamaErrors

with ollama_host_checked():
    import ollama


class _CleanPulls(httpx.AsyncBaseTransport):
    """The ``ollama`` client's transport: its NDJSON streams (pulls) with stray lines dropped."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        ndjson = response.headers.get("content-type", "").startswith(CONTENT_TYPE)
        if ndjson and isinstance(response.stream, httpx.AsyncByteStream):
            headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-length"]
            return httpx.Response(
                response.status_code,
                headers=headers,
                stream=CleanNDJSON(response.stream),
                extensions=response.extensions,
            )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class OllamaModels:
    """Model management on one Ollama server (the ``ModelManager`` of ``Backend.models``), and
    what the chat path asks of it: a model's details, once, and the server's version."""

    def __init__(self, url: str, timeout: httpx.Timeout, transport: httpx.AsyncBaseTransport, errors: OllamaErrors) -> None:
        self._client = ollama.AsyncClient(host=url, timeout=timeout, transport=_CleanPulls(transport))
        self._errors = errors
        self._details: dict[str, ModelDetails] = {}
        self._version: str | None = None  # "" once the server would not say

    async def aclose(self) -> None:
        await self._client.close()  # type: ignore[no-untyped-call]  # unannotated in ollama

    async def list(self) -> list[ModelInfo]:
        try:
            listing, running = await asyncio.gather(self._client.list(), self._client.ps())
        except Exception as exc:  # noqa: BLE001 - mapped or re-raised
            raise self._errors.map(exc) from None
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
            shown = await asyncio.gather(*(self.details(m.name) for m in unknown), return_exceptions=True)
            for model, found in zip(unknown, shown, strict=True):
                if isinstance(found, ModelDetails):
                    model.thinking = found.thinking
        return models

    async def show(self, model: str) -> ModelDetails:
        """What ``/api/show`` says about the model, asked now."""
        try:
            info = await self._client.show(model)
        except Exception as exc:  # noqa: BLE001
            raise self._errors.map(exc, model) from None
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

    async def details(self, model: str) -> ModelDetails:
        """What ``/api/show`` said about the model, asked once until the model changes."""
        if model not in self._details:
            await self.show(model)
        return self._details[model]

    def forget(self, model: str) -> None:
        """The model changed (pulled again, deleted, re-created): ask ``/api/show`` again."""
        self._details.pop(model, None)

    async def version(self) -> str | None:
        """The server's version (``GET /api/version``, asked once); None if it does not say."""
        if self._version is None:
            try:
                # The client has no version() (protocols.md A.5): its own raw request keeps the
                # one connection pool, headers and error handling.
                response = await self._client._request_raw("GET", "/api/version")  # type: ignore[no-untyped-call]  # unannotated in ollama
                version = response.json().get("version")
            except Exception as exc:  # noqa: BLE001
                error = self._errors.map(exc)
                if isinstance(error, Unreachable):
                    raise error from None
                version = None
            self._version = version if isinstance(version, str) else ""
        return self._version or None

    async def pull(self, model: str) -> AsyncGenerator[PullProgress, None]:
        stream = None
        try:
            stream = await self._client.pull(model, stream=True)
            async for part in stream:
                yield PullProgress(part.status or "", part.digest, part.total, part.completed)
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, ollama.ResponseError) and "file does not exist" in str(exc.error):
                raise NotInLibrary(model) from None
            if isinstance(exc, ollama.ResponseError) and "invalid model name" in str(exc.error):
                raise BackendError(f"'{model}' is not a valid model name (for example deepseek-r1:8b).") from None
            raise self._errors.map(exc, model) from None
        finally:
            if stream is not None:
                await stream.aclose()  # type: ignore[attr-defined]  # ollama types it AsyncIterator; it is an async generator
        self.forget(model)

    async def delete(self, model: str) -> None:
        try:
            await self._client.delete(model)
        except Exception as exc:  # noqa: BLE001
            raise self._errors.map(exc, model) from None
        self.forget(model)

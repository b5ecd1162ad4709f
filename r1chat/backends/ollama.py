"""Native Ollama API: chat over httpx, models through the official ``ollama`` client.

The chat path posts ``/api/chat`` itself and reads the NDJSON stream itself: the ``ollama`` client
drops tool-call ids and prunes tool schemas (protocols.md F.2), and dies on a blank line (A.4).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import httpx

from r1chat import __version__
from r1chat.backends import ollama_url
from r1chat.backends.base import (
    OLLAMA_LEVELS_SINCE,
    OLLAMA_MAX_SINCE,
    BackendError,
    BadResponse,
    Capabilities,
    ChatOptions,
    Done,
    EffortLevels,
    ModelDetails,
    ModelInfo,
    ModelNotFound,
    PassBack,
    Refusals,
    StreamBroken,
    StreamEvent,
    Support,
    ToolCall,
    ToolsRefused,
    TurnStats,
    Unreachable,
    looks_like_r1,
    version_number,
)
from r1chat.backends.demux import Demux
from r1chat.backends.ndjson import CONTENT_TYPE, NDJSONDecoder
from r1chat.backends.ollama_errors import OllamaErrors, OllamaSaid, error_text
from r1chat.backends.ollama_models import OllamaModels
from r1chat.conversation import Message, Role
from r1chat.tools.steps import as_text, called_name, has_tool_calls, result_for_model, steps

if TYPE_CHECKING:
    from r1chat.conversation import History

_NANO = 1e-9
DRAIN_SECONDS = 0.5

# How /api/show names the capabilities that Capabilities asks about (protocols.md F.1).
_LISTED = {"thinking": "thinking", "tools": "tools", "images": "vision"}
# The 400 for `think` sent to a model without the capability, in every version's wording (A.1).
THINKING_REFUSED = "does not support thinking"
# The 400 for `tools` sent to a model without the capability: R1 distills the library labels as
# tool-capable (protocols.md F.1).
TOOLS_REFUSED = "does not support tools"
# From 0.12.6 `"truncate": false` makes a request that does not fit num_ctx fail with an error
# instead of losing its oldest messages without a word, and `"shift": false` ends a turn that
# fills the window with "length" (protocols.md A.6, section 0); older servers ignore both.
REFUSES_TRUNCATION_SINCE = (0, 12, 6)
# 0.30.0 ran models on llama-server and counted only the newly evaluated prompt tokens; 0.30.1
# counts the cached ones again (protocols.md F.10). 0.3.0 is well after the 2024 fix (E.12).
CACHED_COUNTED_SINCE = (0, 3, 0)
CACHED_NOT_COUNTED = ((0, 30, 0),)


def encode(history: History, *, tool_turns_as_text: bool = False) -> list[dict[str, Any]]:
    """The history as ``/api/chat`` messages (protocols.md A.1, F.1).

    Of a trace, nothing goes back on plain turns (the pass-back table in DESIGN.md): Ollama's
    templates ignore it, and it would fill the window. A tool-calling answer goes as an assistant
    message per request with its ``tool_calls`` (arguments as an object), each followed by its
    results as ``role: tool`` messages carrying both ``tool_name`` and ``tool_call_id`` in call
    order (F.1); ``thinking`` goes back only inside the current tool loop (after the last user
    message), where the templates read it.
    """
    messages: list[dict[str, Any]] = [{"role": "system", "content": history.system}] if history.system else []
    last_user = max((i for i, m in enumerate(history.messages) if m.role is Role.USER), default=-1)
    for index, message in enumerate(history.messages):
        if message.role is not Role.ASSISTANT or not has_tool_calls(message):
            messages.append({"role": message.role.value, "content": message.content})
        elif tool_turns_as_text:
            messages.append({"role": "assistant", "content": "\n\n".join(filter(None, map(as_text, steps(message))))})
        else:
            messages += _tool_turn(message, current=index > last_user)
    return messages


def _tool_turn(message: Message, *, current: bool) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = []
    for step in steps(message):
        if not (step.calls or step.content or step.reasoning):
            continue
        said: dict[str, Any] = {"role": "assistant", "content": step.content}
        if current and step.reasoning:
            said["thinking"] = step.reasoning
        if step.calls:
            said["tool_calls"] = [
                {"id": call.id, "function": {"name": called_name(call), "arguments": call.arguments}} for call in step.calls
            ]
        wire.append(said)
        names = {call.id: called_name(call) for call in step.calls}
        for result in step.results:
            wire.append({"role": "tool", "tool_name": names.get(result.call_id, result.name),
                         "tool_call_id": result.call_id, "content": result_for_model(result)})
    return wire


def _tool_calls(message: dict[str, Any], seen: int) -> list[ToolCall]:
    """The complete calls of one stream line (F.1: each call arrives whole; ``arguments`` an
    object). Servers before 0.12.10 send no id: one is made up, unique in the answer."""
    calls = message.get("tool_calls")
    found: list[ToolCall] = []
    for item in calls if isinstance(calls, list) else []:
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            continue
        call_id = item.get("id") if isinstance(item.get("id"), str) and item.get("id") else f"call_{seen + len(found)}"
        arguments, error = function.get("arguments"), ""
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError as exc:
                arguments, error = {}, str(exc)
        if not isinstance(arguments, dict):
            arguments, error = {}, error or "the arguments are not an object"
        found.append(ToolCall(call_id, function["name"], arguments, error))
    return found


async def _drain(chunks: AsyncIterator[Any]) -> None:
    """Read a finished stream to its end, which is on its way: a response read whole leaves its
    connection to the next request (no new TCP or TLS handshake per turn). A server that keeps
    the body open after the final line only loses that."""
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in chunks:
                pass
    except (TimeoutError, ValueError, httpx.HTTPError):
        pass


def _seconds(nanoseconds: Any) -> float | None:
    return nanoseconds * _NANO if _int(nanoseconds) else None


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


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
        self._errors = OllamaErrors(self.url, read_timeout)
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        # One connection pool for the chat path and the ollama client's model calls.
        transport = httpx.AsyncHTTPTransport()
        headers = {"User-Agent": f"r1chat/{__version__}", "Accept": "application/x-ndjson, application/json"}
        if key := os.getenv("OLLAMA_API_KEY"):  # as the ollama client sends it (protocols.md A.5)
            headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport, follow_redirects=True
        )
        self.models = OllamaModels(self.url, timeout, transport, self._errors)
        self._refusals = Refusals()

    async def aclose(self) -> None:
        await self._http.aclose()
        await self.models.aclose()

    # --- models ------------------------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        return await self.models.list()

    async def show(self, model: str) -> ModelDetails:
        return await self.models.show(model)

    # --- capabilities ------------------------------------------------------------------------

    async def capabilities(self, model: str) -> Capabilities:
        details = await self.models.details(model)
        listed = self._listed(model, details)
        return Capabilities(
            thinking=listed["thinking"],
            # `think: false` turns a thinking model's trace off (protocols.md A.1).
            thinking_off=listed["thinking"],
            effort=await self._effort(model, listed["thinking"] is Support.YES),
            tools=listed["tools"],
            images=listed["images"],
            list_models=Support.YES,
            manage_models=Support.YES,
            usage_in_stream=Support.YES,  # the final line carries the counts
            context_length=details.context_length,
            sets_window=Support.YES,  # options.num_ctx
            prompt_count_cached=await self._prompt_count_cached(),
            tool_passback=PassBack.THINKING_IN_LOOP,
        )

    async def _prompt_count_cached(self) -> Support:
        version = await self.models.version()
        number = version_number(version) if version else None
        if number is None or number < CACHED_COUNTED_SINCE:
            return Support.UNKNOWN
        return Support.NO if number[:3] in CACHED_NOT_COUNTED else Support.YES

    async def _refuses_truncation(self) -> bool:
        """Whether this server takes ``"truncate": false`` (older ones ignore it silently)."""
        try:
            version = await self.models.version()
        except BackendError:
            return False
        number = version_number(version) if version else None
        return number is not None and number >= REFUSES_TRUNCATION_SINCE

    def _listed(self, model: str, details: ModelDetails) -> dict[str, Support]:
        """Each feature of ``_LISTED`` as ``/api/show`` lists it, after any refusal. A server
        older than 0.6.4 lists no capabilities at all: unknown."""
        if not details.capabilities:
            return {feature: Support.UNKNOWN for feature in _LISTED}
        return {
            feature: Support.YES
            if name in details.capabilities and not self._refusals.refused(model, feature)
            else Support.NO
            for feature, name in _LISTED.items()
        }

    async def _effort(self, model: str, thinks: bool) -> EffortLevels:
        if not thinks:
            said = "Ollama refused to let it think" if self._refusals.refused(model, "thinking") else (
                "Ollama lists no thinking capability for it")
            return EffortLevels(why_not=f"{model} does not think ({said}), so it takes no thinking levels.")
        version = await self.models.version()
        number = version_number(version) if version else None
        if number is None or number < OLLAMA_LEVELS_SINCE:
            server = f"Ollama {version}" if version else f"The Ollama at {self.url} (it gives no version)"
            return EffortLevels(why_not=f"{server} takes no thinking levels; 0.18 or later does.")
        return EffortLevels(("low", "medium", "high") + (("max",) if number >= OLLAMA_MAX_SINCE else ()))

    # --- chat --------------------------------------------------------------------------------

    async def _think(self, model: str, thinks: bool, asked: bool | str | None) -> bool | str | None:
        """The ``think`` to send: only to models that list the capability (others answer 400),
        and a level only where this server takes it for this model."""
        if not thinks:
            return None
        if isinstance(asked, str):
            try:
                levels = (await self._effort(model, thinks)).levels
            except BackendError:
                levels = ()
            if asked not in levels:
                return True  # a level this server or model would answer 400 to: the default instead
        return True if asked is None else asked

    def _body(self, model: str, history: History, options: ChatOptions, think: bool | str | None) -> dict[str, Any]:
        r1 = looks_like_r1(model)
        sampling = {
            # R1 model card: temperature 0.6, top_p 0.95; the Ollama library sets neither.
            "temperature": options.temperature if options.temperature is not None else (0.6 if r1 else None),
            "top_p": options.top_p if options.top_p is not None else (0.95 if r1 else None),
            # Ollama's own default window silently drops long traces (protocols.md A.6).
            "num_ctx": options.num_ctx,
            "num_predict": options.num_predict,
        }
        body: dict[str, Any] = {
            "model": model,
            "messages": encode(history, tool_turns_as_text=options.tool_turns_as_text),
            "stream": True,
            "options": {k: v for k, v in sampling.items() if v is not None},
        }
        if options.tools:
            body["tools"] = [
                {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in options.tools
            ]
        if options.keep_alive is not None:
            body["keep_alive"] = options.keep_alive
        if think is not None:
            body["think"] = think
        return body

    async def chat(self, model: str, history: History, options: ChatOptions) -> AsyncGenerator[StreamEvent, None]:
        try:
            details = await self.models.details(model)
        except (Unreachable, ModelNotFound):
            raise
        except BackendError:
            # /api/show failed some other way: chat without knowing the capabilities (no
            # `think`, which is safe everywhere) rather than not at all.
            details = ModelDetails(name=model)
        thinks = self._listed(model, details)["thinking"] is Support.YES
        body = self._body(model, history, options, await self._think(model, thinks, options.think))
        if options.truncate is not True and await self._refuses_truncation():
            # Nor a context shift mid-answer, which makes a long trace forget the question:
            # the turn ends with done_reason "length" instead, which r1chat can offer to redo.
            body["truncate"] = body["shift"] = False
        assume = self.assume_thinking if self.assume_thinking is not None else (thinks or looks_like_r1(model))
        demux = Demux(assume, guessed=self.assume_thinking is None)
        started = False
        calls = 0  # tool calls so far
        final: dict[str, Any] | None = None
        response: httpx.Response | None = None
        try:
            try:
                response = await self._post(body)
            except OllamaSaid as said:
                if "tools" in body and TOOLS_REFUSED in said.error:
                    # /api/show listed tools, or said nothing: from now on the model is known not to.
                    self._refusals.remember(model, "tools")
                    self.models.forget(model)
                    raise ToolsRefused(f"{model} cannot call tools (Ollama: {said.error})", status=400) from None
                if "think" not in body or THINKING_REFUSED not in said.error:
                    raise
                # The capability list was stale (the model was re-created meanwhile): from now on
                # this model is asked without `think`.
                self._refusals.remember(model, "thinking")
                self.models.forget(model)
                del body["think"]
                response = await self._post(body)
            # aclosing: leaving early (the final line, an error, the caller closing us) must not
            # leave the reader suspended on a response that is about to be closed.
            async with aclosing(self._chunks(response)) as chunks:
                async for chunk in chunks:
                    if error := chunk.get("error"):
                        raise OllamaSaid(error)
                    message = chunk.get("message")
                    if type(message) is dict:
                        started = True
                        thinking, content = message.get("thinking"), message.get("content")
                        for event in demux.feed(
                            thinking if type(thinking) is str else None, content if type(content) is str else None
                        ):
                            yield event
                        if "tool_calls" in message:
                            for call in _tool_calls(message, calls):
                                calls += 1
                                yield call
                    if chunk.get("done") is True:
                        # A final line without its (always empty) message still carries the stats.
                        started, final = True, chunk
                        break
                if final is not None:
                    await _drain(chunks)
        except Exception as exc:  # noqa: BLE001 - mapped or re-raised
            raise self._errors.map(exc, model, started=started) from None
        finally:
            if response is not None:
                await response.aclose()
        if final is None:
            if started:
                raise StreamBroken(f"Ollama at {self.url} closed the stream before the answer was finished.")
            raise BadResponse(f"Ollama at {self.url} sent an empty response.")

        for event in demux.close():
            yield event
        stats = TurnStats(
            prompt_tokens=_int(final.get("prompt_eval_count")),
            completion_tokens=_int(final.get("eval_count")),
            total_seconds=_seconds(final.get("total_duration")),
            load_seconds=_seconds(final.get("load_duration")),
            prompt_seconds=_seconds(final.get("prompt_eval_duration")),
            eval_seconds=_seconds(final.get("eval_duration")),
            finish_reason=reason if isinstance(reason := final.get("done_reason"), str) else None,
            context_size=options.num_ctx or details.context_length,
        )
        demux.finish(stats)
        yield Done(stats)

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        """The open response to a chat request; an HTTP error raises what Ollama said."""
        response = await self._http.send(self._http.build_request("POST", "/api/chat", json=body), stream=True)
        if response.status_code >= 400:
            try:
                text = (await response.aread()).decode("utf-8", "replace")
            finally:
                await response.aclose()
            raise OllamaSaid(error_text(text), response.status_code)
        return response

    @staticmethod
    async def _chunks(response: httpx.Response) -> AsyncGenerator[dict[str, Any], None]:
        """The JSON objects of the stream as they arrive. A body that does not say it is NDJSON
        must be JSON lines throughout: anything else is likely not Ollama at all."""
        decoder = NDJSONDecoder(strict=not response.headers.get("content-type", "").startswith(CONTENT_TYPE))
        async for data in response.aiter_bytes():
            for chunk in decoder.feed(data):
                yield chunk
        for chunk in decoder.close():
            yield chunk

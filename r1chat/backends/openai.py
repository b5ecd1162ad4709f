"""OpenAI-compatible chat completions over httpx: DeepSeek, OpenRouter, vLLM, llama.cpp, LM Studio."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from r1chat import __version__
from r1chat.backends.base import (
    OLLAMA_LEVELS_SINCE,
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
    ReasoningDetails,
    Refusals,
    StreamBroken,
    StreamEvent,
    Support,
    ToolCall,
    ToolsRefused,
    TurnStats,
    looks_like_r1,
    version_number,
)
from r1chat.backends.demux import Demux
from r1chat.backends.openai_errors import OpenAIErrors, error_message
from r1chat.backends.sse import aiter_events, aiter_lines
from r1chat.conversation import Message, Role
from r1chat.tools.steps import as_text, called_name, has_tool_calls, result_for_model, steps

if TYPE_CHECKING:
    from r1chat.conversation import History

_SSE_FIELDS = (":", "data:", "event:", "id:", "retry:")
# A 400 that says the model cannot take tools: Ollama's /v1, original R1 on DeepSeek, vLLM started
# without a tool parser (protocols.md F.1, F.5, F.7).
_TOOLS_REFUSED = re.compile(
    r"does not support tools|does not support function calling|enable-auto-tool-choice|tools? (are|is) not supported",
    re.IGNORECASE,
)


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


# Thinking levels by server family, and the request field that carries them: DeepSeek V4 (B.1),
# OpenRouter (C), Ollama's /v1 (C, from 0.18 as its native `think` levels). Other servers (vLLM,
# llama.cpp, LM Studio) are never sent one.
DEEPSEEK_LEVELS = ("low", "high", "max")
OPENROUTER_LEVELS = ("low", "medium", "high")
OLLAMA_LEVELS = ("low", "medium", "high")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def encode(
    history: History,
    *,
    model: str = "",
    provider: str = "",
    passback: PassBack = PassBack.NOTHING,
    tool_turns_as_text: bool = False,
) -> list[dict[str, Any]]:
    """The history as chat completions messages (protocols.md F.4).

    Of a trace, nothing goes back on plain turns (the pass-back table in DESIGN.md): R1-era
    DeepSeek answers 400 to ``reasoning_content`` in input, later eras ignore it (B.4). A
    tool-calling answer goes as an assistant message per request with its ``tool_calls``
    (arguments as a JSON string), each followed by ``role: tool`` messages with ``tool_call_id``.
    On those assistant messages goes what ``passback`` says the endpoint needs: DeepSeek's
    ``reasoning_content`` on every one, in every later request, an empty string where another
    model wrote it (F.5: the key must be there); OpenRouter's ``reasoning_details`` verbatim (F.6).
    """
    messages: list[dict[str, Any]] = [{"role": "system", "content": history.system}] if history.system else []
    for message in history.messages:
        if message.role is not Role.ASSISTANT or not has_tool_calls(message):
            messages.append({"role": message.role.value, "content": message.content})
        elif tool_turns_as_text:
            messages.append({"role": "assistant", "content": "\n\n".join(filter(None, map(as_text, steps(message))))})
        else:
            same = message.model == model and (not provider or message.provider in (None, provider))
            messages += _tool_turn(message, passback, same)
    return messages


def _tool_turn(message: Message, passback: PassBack, same_model: bool) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = []
    for step in steps(message):
        if not (step.calls or step.content):
            continue
        said: dict[str, Any] = {"role": "assistant", "content": step.content or None}
        if step.calls:
            said["tool_calls"] = [
                {"id": call.id, "type": "function",
                 "function": {"name": called_name(call), "arguments": json.dumps(call.arguments, ensure_ascii=False)}}
                for call in step.calls
            ]
            trace = step.reasoning if same_model else ""
            if passback is PassBack.REASONING_CONTENT:
                said["reasoning_content"] = trace
            elif passback is PassBack.REASONING_DETAILS:
                if same_model and step.reasoning_details:
                    said["reasoning_details"] = step.reasoning_details
                elif trace:
                    said["reasoning"] = trace
        elif not step.content:
            continue
        wire.append(said)
        for result in step.results:
            wire.append({"role": "tool", "tool_call_id": result.call_id, "content": result_for_model(result)})
    return wire


class _ToolCalls:
    """Streamed ``tool_calls`` deltas joined by ``index`` (F.4): id, type and name from the first
    fragment, the ``arguments`` strings concatenated and parsed at the end."""

    def __init__(self) -> None:
        self._by_index: dict[int, dict[str, str]] = {}

    def feed(self, deltas: Any) -> None:
        for delta in deltas if isinstance(deltas, list) else []:
            if not isinstance(delta, dict):
                continue
            index = delta.get("index")
            index = index if isinstance(index, int) else len(self._by_index)
            call = self._by_index.setdefault(index, {"id": "", "name": "", "arguments": ""})
            if isinstance(delta.get("id"), str) and not call["id"]:
                call["id"] = delta["id"]
            function = delta.get("function")
            if isinstance(function, dict):
                if isinstance(function.get("name"), str) and not call["name"]:
                    call["name"] = function["name"]
                if isinstance(function.get("arguments"), str):
                    call["arguments"] += function["arguments"]
                elif isinstance(function.get("arguments"), dict):  # a server that sends an object
                    call["arguments"] += json.dumps(function["arguments"])

    def calls(self) -> list[ToolCall]:
        found = []
        for index in sorted(self._by_index):
            call = self._by_index[index]
            if not call["name"]:
                continue
            text, arguments, error = call["arguments"], {}, ""
            try:
                parsed = json.loads(text) if text.strip() else {}
            except ValueError as exc:
                error = str(exc)
            else:
                if isinstance(parsed, dict):
                    arguments = parsed
                else:
                    error = "the arguments are not an object"
            found.append(ToolCall(call["id"] or f"call_{index}", call["name"], arguments, error))
        return found


def _merge_details(items: list[dict[str, Any]], deltas: Any) -> None:
    """OpenRouter's streamed ``reasoning_details``: fragments of one item share its ``index``
    and their text is concatenated in order (F.6; the merge by index is our reading)."""
    for delta in deltas if isinstance(deltas, list) else []:
        if not isinstance(delta, dict):
            continue
        index = delta.get("index")
        same = next((item for item in items if index is not None and item.get("index") == index
                     and item.get("type") == delta.get("type")), None)
        if same is None:
            items.append(dict(delta))
            continue
        for key, value in delta.items():
            if key in ("text", "summary", "data") and isinstance(value, str) and isinstance(same.get(key), str):
                same[key] += value
            elif value is not None:
                same[key] = value


class OpenAIBackend:
    # The server serves its own models: nothing to pull or delete.
    models = None

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
        self._errors = OpenAIErrors(provider, self.url, api_key, read_timeout)
        headers = {"User-Agent": f"r1chat/{__version__}", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.AsyncClient(
            base_url=self.url + "/",
            headers=headers,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            follow_redirects=True,
        )
        host = (urlsplit(self.url).hostname or "").lower()
        self.family = (
            "deepseek" if host == "api.deepseek.com" or provider == "deepseek"
            else "openrouter" if host == "openrouter.ai" or provider == "openrouter"
            else None
        )
        self._efforts: dict[str, EffortLevels] = {}
        self._refusals = Refusals()
        self._contexts: dict[str, int | None] | None = None  # context length by model, once listed

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- models ------------------------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        try:
            response = await self._client.get("models")
        except httpx.HTTPError as exc:
            raise self._errors.transport(exc, started=False) from None
        if response.status_code >= 400:
            raise self._errors.status(response, response.content, None)
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

    # --- capabilities ------------------------------------------------------------------------

    async def capabilities(self, model: str) -> Capabilities:
        known = self.family in ("deepseek", "openrouter")
        return Capabilities(
            thinking=self._thinking(model),
            # DeepSeek takes `thinking: {type: disabled}` (protocols.md B.1, F.5).
            thinking_off=Support.YES if self.family == "deepseek" else Support.UNKNOWN,
            effort=await self._effort_levels(model),
            list_models=Support.YES,
            manage_models=Support.NO,
            # Both send usage when asked (stream_options); llama-cpp-python's server never does.
            usage_in_stream=Support.YES if known else Support.UNKNOWN,
            context_length=await self._context_length(model),
            tools=Support.NO if self._refusals.refused(model, "tools") else Support.UNKNOWN,
            tool_passback=self.passback,
        )

    @property
    def passback(self) -> PassBack:
        """What goes back on tool turns: OpenRouter takes ``reasoning_details``; every other
        endpoint gets ``reasoning_content`` on assistant messages with tool calls, which DeepSeek
        in thinking mode requires (F.5), wherever it is served from, and the rest ignore or use
        (llama.cpp, vLLM's interleaved-thinking models, F.7)."""
        return PassBack.REASONING_DETAILS if self.family == "openrouter" else PassBack.REASONING_CONTENT

    def _thinking(self, model: str) -> Support:
        """Whether the model streams a trace, where the family says so: R1 always thinks; on the
        DeepSeek API thinking is on by default, off for ``deepseek-chat`` (protocols.md B.1)."""
        if self.family == "deepseek":
            thinking = self.extra_body.get("thinking")
            mode = thinking.get("type") if isinstance(thinking, dict) else None
            if mode in ("enabled", "disabled"):
                return Support.YES if mode == "enabled" else Support.NO
            return Support.NO if model == "deepseek-chat" else Support.YES
        return Support.YES if looks_like_r1(model) else Support.UNKNOWN

    async def _context_length(self, model: str) -> int | None:
        """The window ``GET /models`` gives (OpenRouter, vLLM), asked once; None where it gives none."""
        if self._contexts is None:
            try:
                self._contexts = {info.name: info.context_length for info in await self.list_models()}
            except BackendError:
                return None  # no listing (yet): asked again next time
        return self._contexts.get(model)

    @property
    def _effort_field(self) -> str:
        return "reasoning" if self.family == "openrouter" else "reasoning_effort"

    async def _effort_levels(self, model: str) -> EffortLevels:
        if self._effort_field in self.extra_body:
            return EffortLevels(why_not=f"The {self.provider} provider's extra_body sets {self._effort_field} "
                                        "itself (config.toml), and it wins.")
        if self.family == "deepseek":
            return EffortLevels(DEEPSEEK_LEVELS)
        if self.family == "openrouter":
            return EffortLevels(OPENROUTER_LEVELS)
        if model not in self._efforts:
            try:
                self._efforts[model] = await self._ollama_levels(model)
            except httpx.TransportError:
                return EffortLevels(why_not=f"{self.url} did not answer when asked which levels it takes.")
        return self._efforts[model]

    async def _ollama_levels(self, model: str) -> EffortLevels:
        """Levels from an Ollama behind this /v1 URL; none from any other server."""
        nothing = EffortLevels(why_not=f"{self.url} takes no thinking levels r1chat knows of: only DeepSeek, "
                                       "OpenRouter and Ollama (0.18 or later) do.")
        root = self.url.removesuffix("/v1")
        if root == self.url:
            return nothing
        try:
            # Ollama serves its native API beside /v1: its version and the model's capabilities.
            version = (await self._client.get(f"{root}/api/version")).json().get("version")
            if not isinstance(version, str):
                return nothing
            if (version_number(version) or (0,)) < OLLAMA_LEVELS_SINCE:
                return EffortLevels(why_not=f"Ollama {version} takes no thinking levels; 0.18 or later does.")
            shown = (await self._client.post(f"{root}/api/show", json={"model": model})).json()
        except (httpx.HTTPStatusError, ValueError, AttributeError):
            return nothing  # not Ollama's API: another server
        if not isinstance(shown, dict) or "thinking" not in (shown.get("capabilities") or []):
            return EffortLevels(why_not=f"{model} does not think (Ollama lists no thinking capability for it), "
                                        "so it takes no thinking levels.")
        return EffortLevels(OLLAMA_LEVELS)

    async def _effort(self, model: str, think: bool | str | None) -> str | None:
        """The level to send: only one this server takes for this model."""
        if not isinstance(think, str):
            return None
        try:
            levels = (await self._effort_levels(model)).levels
        except BackendError:
            return None
        return think if think in levels else None

    # --- chat --------------------------------------------------------------------------------

    def _body(self, model: str, history: History, options: ChatOptions, effort: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "messages": encode(
                history, model=model, provider=self.provider, passback=self.passback,
                tool_turns_as_text=options.tool_turns_as_text,
            ),
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
        if options.tools:
            body["tools"] = [
                {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in options.tools
            ]
        if effort is not None:
            body[self._effort_field] = {"effort": effort} if self.family == "openrouter" else effort
        body.update(self.extra_body)  # the user's own field wins
        return body

    async def chat(self, model: str, history: History, options: ChatOptions) -> AsyncGenerator[StreamEvent, None]:
        assume = self.assume_thinking if self.assume_thinking is not None else looks_like_r1(model)
        demux = Demux(assume, guessed=self.assume_thinking is None)
        responded = False
        started = False
        finished = False
        pieces = 0  # deltas that carried text, for servers that send no usage
        heard: list[str] = []  # the stream's first line, once one arrives
        stats = TurnStats()
        calls = _ToolCalls()
        details: list[dict[str, Any]] = []  # OpenRouter's structured reasoning, to send back
        body = self._body(model, history, options, await self._effort(model, options.think))
        try:
            async with self._client.stream("POST", "chat/completions", json=body) as response:
                responded = True
                if response.status_code >= 400:
                    error = self._errors.status(response, await response.aread(), model)
                    if "tools" in body and response.status_code in (400, 422) and _TOOLS_REFUSED.search(str(error)):
                        self._refusals.remember(model, "tools")
                        raise ToolsRefused(f"{model} cannot call tools ({error})", status=response.status_code)
                    raise error
                # aclosing: leaving early (an error, [DONE], the caller closing us) must not leave
                # the line readers suspended on a response that is about to be closed.
                async with aclosing(self._chunks(response, heard)) as chunks:
                    async for chunk in chunks:
                        if chunk is None:
                            finished = True
                            break
                        if chunk.get("error") or chunk.get("object") == "error":
                            if started:
                                text = self._errors.redact(error_message(chunk))
                                raise StreamBroken(f"{self.provider} stopped mid-answer ({text}). Try again.")
                            raise self._errors.stream_event(chunk, model)
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
                            if "tool_calls" in delta:
                                started = True
                                calls.feed(delta["tool_calls"])
                            if "reasoning_details" in delta:
                                _merge_details(details, delta["reasoning_details"])
                            reasoning = _reasoning_of(delta)
                            content = delta.get("content")
                            if not isinstance(content, str):
                                content = None
                            if reasoning or content:
                                started = True
                                pieces += 1
                                for event in demux.feed(reasoning, content):
                                    yield event
        except httpx.HTTPError as exc:
            raise self._errors.transport(exc, responded=responded, started=started) from None
        if not finished and stats.finish_reason is None:
            if not heard:
                # Not a byte: llama-cpp-python's server answers a prompt that does not fit its
                # context this way when streaming (its 400 comes only without streaming). A server
                # that sent keep-alives first was queueing, and is simply busy.
                raise StreamBroken(
                    f"{self.url} ended the answer before sending anything. Most often the conversation "
                    "does not fit the model's context window: start a new conversation or raise the "
                    "server's context size (its log says more)."
                )
            raise StreamBroken(f"{self.url} closed the stream before the answer was finished. Try again.")
        if stats.completion_tokens is None and pieces:
            stats.completion_tokens, stats.tokens_counted = pieces, True
        for event in demux.close():
            yield event
        found = calls.calls()
        if found and details:
            yield ReasoningDetails(tuple(details))
        for call in found:
            yield call
        demux.finish(stats)
        if stats.finish_reason == "insufficient_system_resource":
            raise StreamBroken(f"{self.provider} stopped the answer: insufficient system resources on its side. Try again.")
        yield Done(stats)

    async def _chunks(self, response: httpx.Response, heard: list[str]) -> AsyncGenerator[dict[str, Any] | None, None]:
        """The JSON objects of a 200 answer, then ``None`` if the server said it was done.

        The first non-blank line is put in ``heard`` as soon as it arrives."""
        kind = response.headers.get("content-type", "").lower()
        if "html" in kind:
            # A web page (a wrong base URL, a login portal): say so instead of "stream ended".
            page = b""
            async for part in response.aiter_bytes():
                page += part
                if len(page) > 4096:
                    break
            raise self._errors.not_a_stream(kind, page.decode("utf-8", "replace"))
        lines = aiter_lines(response.aiter_text())
        head: list[str] = []
        first_line = ""
        async for line in lines:
            head.append(line)
            if line.strip():
                first_line = line
                heard.append(line)
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
                raise self._errors.not_a_stream(kind, text)
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
            raise self._errors.not_a_stream(kind, first_line)

    @staticmethod
    def _read_usage(chunk: dict[str, Any], stats: TurnStats) -> None:
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            stats.prompt_tokens = _int(usage.get("prompt_tokens"))
            stats.completion_tokens = _int(usage.get("completion_tokens"))
            cost = usage.get("cost")
            if isinstance(cost, (int, float)) and not isinstance(cost, bool) and cost >= 0:
                stats.cost = float(cost)
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

"""How a plain OpenAI-compatible server lays out chat completions, and the variants that leave
the reasoning inside the content as <think> tags.

One `Style` subclass per server family (protocols.md sections B and C). An instance describes one
response: the model asked for, whether reasoning is on, whether usage was requested.
"""

from __future__ import annotations

import secrets
import string
import time
from typing import Any

_ALNUM = string.ascii_letters + string.digits
_STATUS_NAMES = {
    400: "Invalid Format", 401: "Authentication Fails", 402: "Insufficient Balance",
    403: "Forbidden", 404: "Not Found", 408: "Request Timeout", 409: "Conflict",
    422: "Invalid Parameters", 429: "Rate Limit Reached", 500: "Server Error",
    502: "Bad Gateway", 503: "Server Overloaded",
}


def default_message(status: int) -> str:
    return _STATUS_NAMES.get(status, f"HTTP {status}")


def random_text(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


class Style:
    """A plain OpenAI-compatible server; subclasses override what their server does differently."""

    name = "openai"
    models: tuple[str, ...] = ("deepseek-r1",)
    owned_by = "library"
    comment = "keep-alive"  # text of SSE comment lines sent while queued
    comments = 0  # how many, by default
    content_type = "text/event-stream; charset=utf-8"
    reasoning_field: str | None = "reasoning"  # None: reasoning travels as tags inside content
    opener = True  # inline tags: does the content start with <think>?
    context_length = 32_768
    checks_models = True
    error_types = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error",
                   404: "invalid_request_error", 429: "rate_limit_error", 500: "server_error",
                   503: "server_error"}

    def __init__(self, request: dict | None = None) -> None:
        request = request or {}
        self.model = request.get("model") or ""
        self.include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        self.thinking = self.wants_thinking(request)
        self.created = int(time.time())
        self.id = self.new_id()

    def wants_thinking(self, request: dict) -> bool:
        return True

    @property
    def inline(self) -> bool:
        return self.reasoning_field is None

    def new_id(self) -> str:
        return "chatcmpl-" + random_text(29)

    # -- streamed chunks -----------------------------------------------------------------------

    def chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }

    def opening(self) -> dict | None:
        return self.chunk({"role": "assistant", "content": ""})

    def reasoning(self, text: str) -> dict:
        return self.chunk({self.reasoning_field: text})

    def content(self, text: str) -> dict:
        return self.chunk({"content": text})

    def closing(self, finish_reason: str, usage: dict) -> list[dict]:
        chunks = [self.chunk({}, finish_reason)]
        if self.include_usage:
            chunks.append(self.usage_chunk(usage))
        return chunks

    def usage_chunk(self, usage: dict) -> dict:
        chunk = self.chunk({})
        chunk["choices"] = []
        chunk["usage"] = usage
        return chunk

    def usage(self, prompt: int, completion: int, reasoning: int) -> dict:
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion}

    def stream_error(self, message: str) -> dict:
        return {"error": {"message": message, "type": "server_error", "param": None, "code": None}}

    # -- whole responses -----------------------------------------------------------------------

    def completion(self, reasoning: str, content: str, finish_reason: str, usage: dict) -> dict:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if reasoning and not self.inline:
            message[self.reasoning_field] = reasoning
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
            "usage": usage,
        }

    def model_entry(self, name: str) -> dict:
        return {"id": name, "object": "model", "owned_by": self.owned_by}

    # -- errors: (status, body) ----------------------------------------------------------------

    def error(self, status: int, message: str, kind: str | None = None, **extra: Any) -> tuple[int, dict]:
        kind = kind or self.error_types.get(status, "invalid_request_error")
        return status, {"error": {"message": message, "type": kind, "param": None, "code": None} | extra}

    def auth_failed(self, key: str | None) -> tuple[int, dict]:
        shown = f"{key[:3]}*****{key[-4:]}" if key else "None"
        return self.error(401, f"Incorrect API key provided: {shown}.", code="invalid_api_key")

    def unknown_model(self, model: str) -> tuple[int, dict]:
        return self.error(404, f"The model `{model}` does not exist.", code="model_not_found")

    def effort_problem(self, request: dict) -> tuple[int, dict] | None:
        """The error for a thinking level this server does not take, if any (most ignore the field)."""
        return None

    def context_overflow(self, context: int, prompt: int) -> tuple[int, dict]:
        return self.error(
            400,
            f"This model's maximum context length is {context} tokens. However, your messages "
            f"resulted in {prompt} tokens. Please reduce the length of the messages.",
            code="context_length_exceeded",
        )


class Inline(Style):
    """A server without a reasoning parser: <think>...</think> stays in delta.content."""

    name = "inline"
    reasoning_field = None


class Openerless(Inline):
    """Like inline, but the prompt template opened the trace, so only </think> appears."""

    name = "openerless"
    opener = False

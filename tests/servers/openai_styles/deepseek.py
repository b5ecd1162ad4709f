"""DeepSeek's API (protocols.md section B)."""

from __future__ import annotations

import uuid
from typing import Any

from .base import Style


class DeepSeek(Style):
    name = "deepseek"
    models = ("deepseek-v4-flash", "deepseek-v4-pro")
    owned_by = "deepseek"
    comments = 2
    reasoning_field = "reasoning_content"
    context_length = 1_000_000
    fingerprint = "fp_ffc7281d48_prod0820_fp8_kvcache"
    error_types = {401: "authentication_error", 429: "rate_limit_error", 500: "server_error",
                   503: "server_error"}

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def wants_thinking(self, request: dict) -> bool:
        thinking = request.get("thinking")
        disabled = isinstance(thinking, dict) and thinking.get("type") == "disabled"
        return not disabled and request.get("model") != "deepseek-chat"

    def chunk(self, delta: dict, finish_reason: str | None = None, usage: dict | None = None) -> dict:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": self.fingerprint,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            "usage": usage,
        }

    def opening(self) -> dict:
        if self.thinking:
            return self.chunk({"role": "assistant", "content": None, "reasoning_content": ""})
        return self.chunk({"role": "assistant", "content": ""})

    def reasoning(self, text: str) -> dict:
        return self.chunk({"content": None, "reasoning_content": text})

    def content(self, text: str) -> dict:
        if self.thinking:
            return self.chunk({"content": text, "reasoning_content": None})
        return self.chunk({"content": text})

    def closing(self, finish_reason: str, usage: dict) -> list[dict]:
        delta = {"content": "", "reasoning_content": None} if self.thinking else {"content": ""}
        return [self.chunk(delta, finish_reason, usage)]

    def usage(self, prompt: int, completion: int, reasoning: int) -> dict:
        hit = 0 if prompt < 128 else prompt // 2 // 64 * 64
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": hit},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
            "prompt_cache_hit_tokens": hit,
            "prompt_cache_miss_tokens": prompt - hit,
        }

    def completion(self, reasoning: str, content: str, finish_reason: str, usage: dict) -> dict:
        body = super().completion(reasoning, content, finish_reason, usage)
        body["system_fingerprint"] = self.fingerprint
        return body

    def error(self, status: int, message: str, kind: str | None = None, **extra: Any) -> tuple[int, dict]:
        kind = kind or self.error_types.get(status, "invalid_request_error")
        return status, {"error": {"message": message, "type": kind, "param": None,
                                  "code": "invalid_request_error"} | extra}

    def auth_failed(self, key: str | None) -> tuple[int, dict]:
        if key is None:
            return self.error(401, "Authentication Fails (auth header format should be Bearer sk-...)")
        return self.error(401, f"Authentication Fails, Your api key: ****{key[-4:]} is invalid")

    def unknown_model(self, model: str) -> tuple[int, dict]:
        return self.error(400, "Model Not Exist")

    # V4 maps these onto low / high / max (protocols.md B.1); anything else fails to deserialize,
    # worded like DeepSeek's error for an unknown role (B.2).
    EFFORTS = ("minimal", "low", "medium", "high", "xhigh", "max", "ultra")

    def effort_problem(self, request: dict) -> tuple[int, dict] | None:
        effort = request.get("reasoning_effort")
        if effort is None or effort in self.EFFORTS:
            return None
        expected = ", ".join(f"`{name}`" for name in self.EFFORTS)
        return self.error(400, "Failed to deserialize the JSON body into the target type: reasoning_effort: "
                               f"unknown variant `{effort}`, expected one of {expected} at line 1 column 1")

    def context_overflow(self, context: int, prompt: int) -> tuple[int, dict]:
        return self.error(
            400,
            f"This model's maximum context length is {context} tokens. However, you requested "
            f"{prompt} tokens ({prompt} in the messages, 0 in the completion). Please reduce the "
            "length of the messages or completion.",
        )

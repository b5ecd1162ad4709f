"""llama.cpp's llama-server with --reasoning-format deepseek."""

from __future__ import annotations

import time
from typing import Any

from .base import Style


class LlamaCpp(Style):
    name = "llamacpp"
    models = ("DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf",)
    owned_by = "llamacpp"
    content_type = "text/event-stream"
    reasoning_field = "reasoning_content"
    context_length = 8192
    checks_models = False  # one model per server; the name in the request is not checked
    fingerprint = "b6790-4f8e2a3c"
    error_types = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                   404: "not_found_error", 500: "server_error", 501: "not_supported_error",
                   503: "unavailable_error"}

    def __init__(self, request: dict | None = None) -> None:
        super().__init__(request)
        if (request or {}).get("reasoning_format") == "none":
            self.reasoning_field = None  # the trace stays in content as tags
        self.started = time.monotonic()

    def chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        return {
            "choices": [{"finish_reason": finish_reason, "index": 0, "delta": delta}],
            "created": self.created,
            "id": self.id,
            "model": self.model,
            "system_fingerprint": self.fingerprint,
            "object": "chat.completion.chunk",
        }

    def opening(self) -> dict:
        return self.chunk({"role": "assistant", "content": None})

    def closing(self, finish_reason: str, usage: dict) -> list[dict]:
        chunk = self.chunk({}, finish_reason)
        chunk["usage"] = usage
        chunk["timings"] = self.timings(usage)
        return [chunk]

    def usage(self, prompt: int, completion: int, reasoning: int) -> dict:
        return {"completion_tokens": completion, "prompt_tokens": prompt,
                "total_tokens": prompt + completion}

    def timings(self, usage: dict) -> dict:
        prompt_n, predicted_n = usage["prompt_tokens"], usage["completion_tokens"]
        predicted_ms = max((time.monotonic() - self.started) * 1000, 0.001)
        prompt_ms = prompt_n * 0.25 + 0.001
        return {
            "cache_n": 0,
            "prompt_n": prompt_n,
            "prompt_ms": prompt_ms,
            "prompt_per_token_ms": prompt_ms / max(prompt_n, 1),
            "prompt_per_second": prompt_n * 1000 / prompt_ms,
            "predicted_n": predicted_n,
            "predicted_ms": predicted_ms,
            "predicted_per_token_ms": predicted_ms / max(predicted_n, 1),
            "predicted_per_second": predicted_n * 1000 / predicted_ms,
        }

    def stream_error(self, message: str) -> dict:
        return {"error": {"code": 500, "message": message, "type": "server_error"}}

    def completion(self, reasoning: str, content: str, finish_reason: str, usage: dict) -> dict:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if reasoning and not self.inline:
            message["reasoning_content"] = reasoning
        return {
            "choices": [{"finish_reason": finish_reason, "index": 0, "message": message}],
            "created": self.created,
            "model": self.model,
            "system_fingerprint": self.fingerprint,
            "object": "chat.completion",
            "usage": usage,
            "id": self.id,
            "timings": self.timings(usage),
        }

    def model_entry(self, name: str) -> dict:
        return {"id": name, "object": "model", "created": self.created, "owned_by": self.owned_by,
                "meta": {"n_ctx_train": 131_072, "n_params": 7_615_616_512}}

    def error(self, status: int, message: str, kind: str | None = None, **extra: Any) -> tuple[int, dict]:
        kind = kind or self.error_types.get(status, "invalid_request_error")
        return status, {"error": {"code": status, "message": message, "type": kind} | extra}

    def auth_failed(self, key: str | None) -> tuple[int, dict]:
        return self.error(401, "Invalid API Key")

    def context_overflow(self, context: int, prompt: int) -> tuple[int, dict]:
        return self.error(
            400,
            f"request ({prompt} tokens) exceeds the available context size ({context} tokens), "
            "try increasing it",
            "exceed_context_size_error",
            n_prompt_tokens=prompt,
            n_ctx=context,
        )

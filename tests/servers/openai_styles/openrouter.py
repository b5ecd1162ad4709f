"""OpenRouter: reasoning plus reasoning_details, usage in a chunk of its own."""

from __future__ import annotations

import time
from typing import Any

from .base import Style, random_text


class OpenRouter(Style):
    name = "openrouter"
    models = ("deepseek/deepseek-r1", "deepseek/deepseek-r1-0528")
    owned_by = "deepseek"
    comment = "OPENROUTER PROCESSING"
    comments = 1
    context_length = 163_840
    provider = "DeepInfra"

    def new_id(self) -> str:
        return f"gen-{int(time.time())}-{random_text(20)}"

    def wants_thinking(self, request: dict) -> bool:
        reasoning = request.get("reasoning")
        reasoning = reasoning if isinstance(reasoning, dict) else {}
        hidden = (
            reasoning.get("exclude") is True
            or reasoning.get("enabled") is False
            or reasoning.get("effort") == "none"
            or request.get("include_reasoning") is False
        )
        return not hidden

    def chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        return {
            "id": self.id,
            "provider": self.provider,
            "model": self.model,
            "object": "chat.completion.chunk",
            "created": self.created,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason,
                         "native_finish_reason": finish_reason, "logprobs": None}],
        }

    def opening(self) -> None:
        return None  # every delta carries the role instead

    def reasoning(self, text: str) -> dict:
        detail = {"type": "reasoning.text", "text": text, "format": "unknown", "index": 0}
        return self.chunk({"role": "assistant", "content": "", "reasoning": text,
                           "reasoning_details": [detail]})

    def content(self, text: str) -> dict:
        return self.chunk({"role": "assistant", "content": text})

    def closing(self, finish_reason: str, usage: dict) -> list[dict]:
        return [self.chunk({"role": "assistant", "content": ""}, finish_reason), self.usage_chunk(usage)]

    def usage(self, prompt: int, completion: int, reasoning: int) -> dict:
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "cost": round(prompt * 5.5e-7 + completion * 2.19e-6, 8),
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        }

    def stream_error(self, message: str) -> dict:
        return {
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "provider": self.provider,
            "error": {"code": "server_error", "message": message},
            "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
        }

    def completion(self, reasoning: str, content: str, finish_reason: str, usage: dict) -> dict:
        body = super().completion(reasoning, content, finish_reason, usage)
        message = body["choices"][0]["message"]
        message["refusal"] = None
        if reasoning:
            message["reasoning_details"] = [{"type": "reasoning.text", "text": reasoning,
                                             "format": "unknown", "index": 0}]
        body["provider"] = self.provider
        return body

    def model_entry(self, name: str) -> dict:
        # GET /api/v1/models gives each model's window as context_length.
        return {"id": name, "name": f"DeepSeek: {name.split('/')[-1]}", "created": self.created,
                "context_length": self.context_length}

    def error(self, status: int, message: str, kind: str | None = None, **extra: Any) -> tuple[int, dict]:
        return status, {"error": {"code": status, "message": message} | extra}

    def auth_failed(self, key: str | None) -> tuple[int, dict]:
        return self.error(401, "No auth credentials found" if key is None else "User not found.")

    def unknown_model(self, model: str) -> tuple[int, dict]:
        return self.error(400, f"{model} is not a valid model ID")

    # The values protocols.md C lists; the wording of the error for others is not documented.
    EFFORTS = ("xhigh", "high", "medium", "low", "minimal", "none")

    def effort_problem(self, request: dict) -> tuple[int, dict] | None:
        reasoning = request.get("reasoning")
        effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
        if effort is None or effort in self.EFFORTS:
            return None
        return self.error(400, f"Invalid reasoning effort: {effort}")

    def context_overflow(self, context: int, prompt: int) -> tuple[int, dict]:
        return self.error(
            400,
            f"This endpoint's maximum context length is {context} tokens. However, you requested "
            f"about {prompt} tokens ({prompt} of text input). Please reduce the length of either "
            'one, or use the "middle-out" transform to compress your prompt automatically.',
        )

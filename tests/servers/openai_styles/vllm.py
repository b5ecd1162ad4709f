"""vLLM's OpenAI-compatible server with a reasoning parser."""

from __future__ import annotations

import uuid
from typing import Any

from .base import Style


class VLLM(Style):
    name = "vllm"
    models = ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",)
    owned_by = "vllm"
    error_types = {400: "BadRequestError", 401: "Unauthorized", 404: "NotFoundError",
                   422: "BadRequestError", 429: "TooManyRequests", 500: "InternalServerError",
                   503: "ServiceUnavailableError"}

    def new_id(self) -> str:
        return "chatcmpl-" + uuid.uuid4().hex

    def usage(self, prompt: int, completion: int, reasoning: int) -> dict:
        return {"prompt_tokens": prompt, "total_tokens": prompt + completion,
                "completion_tokens": completion, "prompt_tokens_details": None}

    def stream_error(self, message: str) -> dict:
        return self.error(500, message)[1]

    def model_entry(self, name: str) -> dict:
        return {"id": name, "object": "model", "created": self.created, "owned_by": self.owned_by,
                "root": name, "parent": None, "max_model_len": self.context_length}

    def error(self, status: int, message: str, kind: str | None = None, **extra: Any) -> tuple[int, dict]:
        kind = kind or self.error_types.get(status, "BadRequestError")
        return status, {"error": {"message": message, "type": kind, "param": None, "code": status} | extra}

    def auth_failed(self, key: str | None) -> tuple[int, dict]:
        return 401, {"error": "Unauthorized"}

    def unknown_model(self, model: str) -> tuple[int, dict]:
        return self.error(404, f"The model `{model}` does not exist.", param="model")

    def context_overflow(self, context: int, prompt: int) -> tuple[int, dict]:
        return self.error(
            400,
            f"This model's maximum context length is {context} tokens. However, your request has "
            f"{prompt} input tokens. Please reduce the length of the input messages.",
        )

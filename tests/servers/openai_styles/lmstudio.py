"""LM Studio's OpenAI-compatible server (0.3.23+ field names)."""

from __future__ import annotations

from .base import Style


class LMStudio(Style):
    name = "lmstudio"
    models = ("deepseek-r1-distill-qwen-7b",)
    owned_by = "organization_owner"
    context_length = 4096

    def chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        chunk = super().chunk(delta, finish_reason)
        chunk["system_fingerprint"] = self.model
        return chunk

    def unknown_model(self, model: str) -> tuple[int, dict]:
        return self.error(404, f'Model "{model}" not found. Please check the model identifier.',
                          param="model", code="model_not_found")

    def context_overflow(self, context: int, prompt: int) -> tuple[int, dict]:
        return self.error(
            400,
            f"Trying to keep the first {prompt} tokens when context the overflows. However, the "
            f"model is loaded with context length of only {context} tokens, which is not enough. "
            "Try to load the model with a larger context length, or provide a shorter input",
        )

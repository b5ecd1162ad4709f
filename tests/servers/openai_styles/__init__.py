"""Where each OpenAI-compatible server family puts reasoning, usage and errors."""

from .base import Inline, Openerless, Style, default_message
from .deepseek import DeepSeek
from .llamacpp import LlamaCpp
from .lmstudio import LMStudio
from .openrouter import OpenRouter
from .vllm import VLLM

STYLES: dict[str, type[Style]] = {
    style.name: style for style in (DeepSeek, OpenRouter, VLLM, LlamaCpp, LMStudio, Inline, Openerless)
}

__all__ = ["STYLES", "Style", "default_message"]

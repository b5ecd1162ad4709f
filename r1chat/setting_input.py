"""What a person may type for a setting, and what it means; an empty field means "the default".

Shared by the settings screen and the per-conversation settings, so both accept and refuse
the same things with the same words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from r1chat.config import DURATION, RANGES, address_problem, number_text

_PROVIDER_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")


class BadInput(ValueError):
    """The message says what the field wants, in a person's words."""


def parse(name: str, text: str) -> Any:
    """The value of setting ``name`` typed as ``text``; None for an empty field. Raises ``BadInput``."""
    text = text.strip()
    if not text:
        return None
    return _PARSERS[name](text)


def _num_ctx(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise BadInput(f"Context window: a whole number of tokens, like 8192, not '{text}'") from None
    low, high = RANGES["num_ctx"]
    if not low <= value <= high:
        raise BadInput(f"Context window: between {number_text(low)} and {number_text(high)} tokens, not {value}")
    return value


def _keep_alive(text: str) -> str | int:
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if DURATION.fullmatch(text):
        return text
    raise BadInput(f"Keep alive: a duration like 10m, 1h30m or 300s, or seconds (-1: forever), not '{text}'")


def _number(label: str, key: str) -> Callable[[str], float]:
    low, high = RANGES[key]

    def parse_number(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise BadInput(f"{label}: a number from {number_text(low)} to {number_text(high)}, not '{text}'") from None
        if not low <= value <= high:
            raise BadInput(f"{label}: from {number_text(low)} to {number_text(high)}, not {value:g}")
        return value

    return parse_number


def _url(text: str) -> str:
    if not re.match(r"(https?://)?[^\s/]+(:\d+)?(/\S*)?$", text):
        raise BadInput(f"Host or base URL: like http://127.0.0.1:11434 or https://api.example.com/v1, not '{text}'")
    if problem := address_problem(text):
        raise BadInput(f"Host or base URL: '{text}' {problem}")
    return text


def _text(text: str) -> str:
    return text


def provider_name(text: str, taken: set[str]) -> str:
    text = text.strip()
    if not _PROVIDER_NAME.fullmatch(text):
        raise BadInput("Provider name: letters, digits, - and _ (up to 40), like openrouter")
    if text in taken:
        raise BadInput(f"Provider name: there is already a provider called {text}")
    return text


_PARSERS = {
    "num_ctx": _num_ctx,
    "keep_alive": _keep_alive,
    "temperature": _number("Temperature", "temperature"),
    "top_p": _number("Top p", "top_p"),
    "url": _url,
    "model": _text,
    "system_prompt": _text,
    "api_key": _text,
}


def show(value: Any) -> str:
    """A setting's value as its field shows it."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)

"""How Ollama writes values on the wire: Go's JSON and time formats, durations, versions."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .http import compact_json


def go_json(obj: Any) -> str:
    """JSON as Go's encoder writes it: compact, with <, > and & escaped."""
    text = compact_json(obj)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def ndjson_line(obj: Any) -> bytes:
    return go_json(obj).encode() + b"\n"


def rfc3339(moment: datetime | int) -> str:
    """Go's RFC3339Nano: nanoseconds without trailing zeros, "Z" for UTC (ints are UTC ns)."""
    if isinstance(moment, int):
        seconds, nanos = divmod(moment, 1_000_000_000)
        moment = datetime.fromtimestamp(seconds, UTC)
    else:
        nanos = moment.microsecond * 1000
    fraction = f".{nanos:09d}".rstrip("0").rstrip(".")
    offset = moment.strftime("%z")
    zone = "Z" if offset in ("", "+0000") else f"{offset[:3]}:{offset[3:]}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + zone


_DURATION = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def keep_alive_seconds(value: Any) -> float | None:
    """Seconds a model stays loaded after a request; None = forever (any negative value)."""
    if value is None:
        return 300.0
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            sign = -1 if text.startswith("-") else 1
            value = sign * sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(text))
    return None if value < 0 else float(value)


def at_least(version: str, minimum: str) -> bool:
    return _parse(version) >= _parse(minimum)


def _parse(version: str) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", version.split("-")[0])
    return tuple(int(n) for n in numbers[:3])

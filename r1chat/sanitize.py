"""Model and server text is data: nothing in it may reach the terminal as a control sequence."""

from __future__ import annotations

import json
import re

# C0 controls but tab and newline, DEL, and the C1 range. ESC is what matters most (OSC 52
# clipboard writes, cursor moves, title changes), but CR and BS can also hide text. Bidi
# embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder what a terminal shows
# ("Trojan Source"), so they go too; the plain marks U+200E/U+200F stay.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Whole escape sequences first, so their parameters do not leak as stray text.
_SEQUENCES = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL/ST
    r"|\x1b[P^_X][^\x1b]*(?:\x1b\\)?"  # DCS, PM, APC, SOS ... ST
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    # 8-bit DCS, SOS, OSC, PM, APC only with their end: a lone C1 character is more often
    # mis-decoded text (UTF-8 read as Latin-1) than a sequence, and must not eat what follows.
    r"|[\x90\x98\x9d-\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]"  # two-character escapes
)


def strip_controls(text: str) -> str:
    """Remove terminal escape sequences and control characters, keeping newlines and tabs."""
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))


def pasted_text(text: str) -> str:
    """A paste as the text it stands for: line endings (CR LF, bare CR) as newlines, no control
    character or escape sequence (a BEL in a paste is not Ctrl+G, nor an ESC the Escape key)."""
    return strip_controls(text.replace("\r\n", "\n").replace("\r", "\n"))


# What JSON leaves raw that a terminal may still act on: C1 controls (json escapes only C0)
# and the bidi controls. They can only occur inside JSON strings, where \uXXXX means the same.
_RAW_IN_JSON = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def to_json(value: object, *, indent: int | None = None) -> str:
    """``json.dumps`` for text that may reach a terminal: every control character escaped, the
    text itself kept whole (a script reading it gets exactly what was stored)."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _RAW_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


_INTRODUCERS = "]P^_X"  # string sequences, ended by BEL or ST
_LONGEST_HELD = 4096


def _incomplete(tail: str) -> bool:
    """Whether ``tail`` (starting at ESC or 8-bit CSI) could still become one whole sequence."""
    if tail == "\x1b":
        return True
    if tail[0] == "\x9b" or tail[1] == "[":
        body = tail[1:] if tail[0] == "\x9b" else tail[2:]
        return all("\x20" <= ch <= "\x3f" for ch in body)
    if tail[1] in _INTRODUCERS:
        return "\x07" not in tail and "\x1b\\" not in tail
    return all("\x20" <= ch <= "\x2f" for ch in tail[1:])


class ControlFilter:
    """``strip_controls`` for a stream: a sequence split across chunks is held until it is whole."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, text: str) -> str:
        text = self._held + text
        self._held = ""
        start = max(text.rfind("\x1b"), text.rfind("\x9b"))
        if start >= 0 and len(text) - start < _LONGEST_HELD and _incomplete(text[start:]):
            text, self._held = text[:start], text[start:]
        return strip_controls(text)

    def flush(self) -> str:
        # An unfinished sequence at the very end is dropped whole, not shown as stray text.
        self._held = ""
        return ""

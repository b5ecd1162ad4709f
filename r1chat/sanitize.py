"""Model and server text is data: nothing in it may reach the terminal as a control sequence."""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, and the C1 range. ESC is what matters most (OSC 52
# clipboard writes, cursor moves, title changes), but CR and BS can also hide text.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Whole escape sequences first, so their parameters do not leak as stray text.
_SEQUENCES = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL/ST
    r"|\x1b[P^_X][^\x1b]*(?:\x1b\\)?"  # DCS, PM, APC, SOS ... ST
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|\x1b[ -/]*[0-~]"  # two-character escapes
)


def strip_controls(text: str) -> str:
    """Remove terminal escape sequences and control characters, keeping newlines and tabs."""
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))

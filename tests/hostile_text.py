"""Text that tries to act on the terminal it is shown in: what a hostile model, server or prompt
sends. Each sequence wraps or sits beside plain words that must survive."""

from __future__ import annotations

import re

SEQUENCES = {
    "screen clear": "\x1b[2J\x1b[H",
    "OSC 52 clipboard write": "\x1b]52;c;cm0gLXJmIH4=\x07",
    "OSC 0 title change": "\x1b]0;pwned-title\x1b\\",
    "OSC 8 link": "\x1b]8;;https://evil.example/\x1b\\",
    "OSC 8 end": "\x1b]8;;\x1b\\",
    "DCS": "\x1bP+q544e\x1b\\",
    "8-bit CSI": "\x9b2J",
    "right-to-left override": "\u202e",
    "isolate": "\u2066",
    "pop isolate": "\u2069",
    "pop override": "\u202c",
    "NUL": "\x00",
    "BEL": "\x07",
    "backspace": "\x08",
}


def hostile(words: str) -> str:
    """``words`` (plain, space-separated) with every sequence above in and around them."""
    s = SEQUENCES
    first, *rest = words.split(" ")
    return (
        f"{s['screen clear']}{first}{s['OSC 52 clipboard write']}{s['OSC 0 title change']} "
        f"{s['OSC 8 link']}{' '.join(rest)}{s['OSC 8 end']}{s['DCS']}{s['8-bit CSI']} "
        f"{s['right-to-left override']}{s['isolate']}reversed{s['pop isolate']}{s['pop override']}"
        f"{s['NUL']}{s['BEL']}{s['backspace']}"
    )


# Anything a terminal may act on: C0 but tab and newline, DEL, C1, bidi controls.
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
LEAKS = ("pwned-title", "cm0gLXJmIH4", "evil.example", "+q544e", "2J")


def assert_clean(text: str, *words: str) -> None:
    """No control character or leftover of a sequence in ``text``, and every word still there."""
    assert not RAW.search(text), f"raw control in output: {RAW.findall(text)!r}"
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} leaked"
    for word in words:
        assert word in text, f"{word!r} is missing"

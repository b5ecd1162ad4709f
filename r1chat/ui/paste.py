"""Bracketed pastes made safe before Textual's input parser reads them.

Textual's parser (textual/_xterm_parser.py, ``XTermParser.parse``) keeps the characters of a
bracketed paste apart from keys, but not after an ESC inside the paste: it collects what follows
the ESC as an escape sequence, and when that is no sequence it knows (the next ESC comes, 100 ms
pass, or 32 characters are read) it reissues those characters as key presses
(``reissue_sequence_as_keys``). Pasted terminal output such as ``ESC ]0;title BEL`` thus pressed
Ctrl+G (History) and typed the rest of the paste into the history's search box.

``PasteFilter`` sits between the terminal's bytes (decoded) and the parser: it holds each paste
whole and passes it on as plain text (``pasted_text``), so the parser never meets an ESC inside a
paste. The driver feeds every chunk it reads through it.
"""

from __future__ import annotations

from r1chat.sanitize import pasted_text

START, END = "\x1b[200~", "\x1b[201~"


def _partial_suffix(text: str, marker: str) -> int:
    """How many characters at the end of ``text`` could begin ``marker``."""
    for size in range(min(len(marker) - 1, len(text)), 0, -1):
        if marker.startswith(text[-size:]):
            return size
    return 0


class PasteFilter:
    """Outside a paste every character passes at once (an Esc key must reach the parser on time);
    inside one, the text is held until the paste ends, then passed on cleaned."""

    def __init__(self) -> None:
        self._tail = ""  # the end of what was passed on, when it may begin a paste's start marker
        self._held = ""  # the paste read so far
        self._in_paste = False

    def feed(self, text: str) -> str:
        out: list[str] = []
        while text:
            if not self._in_paste:
                seen = self._tail + text
                start = seen.find(START)
                if start < 0:
                    out.append(text)
                    self._tail = seen[len(seen) - _partial_suffix(seen, START) :]
                    break
                marker_end = start + len(START) - len(self._tail)  # in ``text``: the tail went out
                out.append(text[:marker_end])
                text, self._tail, self._in_paste = text[marker_end:], "", True
            held = self._held + text
            end = held.find(END)
            if end < 0:
                self._held = held
                break
            out.append(pasted_text(held[:end]) + END)
            text, self._held, self._in_paste = held[end + len(END) :], "", False
        return "".join(out)

"""Parts of a Markdown answer a reader may want on their own: code blocks and links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it.token import Token

# A code fence line: three or more backticks or tildes, indented at most three spaces.
_FENCE_LINE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")


def fence_marker(line: str) -> str | None:
    """The backticks or tildes a line would open a code fence with, or None. (A backtick
    fence's info string has no backtick in it: "```a`" is inline code, as CommonMark reads it.)"""
    found = _FENCE_LINE.match(line)
    if found is None or (found.group(1)[0] == "`" and "`" in found.group(2)):
        return None
    return found.group(1)


def closes_fence(line: str, marker: str) -> bool:
    """The line ends the code fence ``marker`` opened: the same character, at least as many
    of it, and nothing after."""
    found = _FENCE_LINE.match(line)
    return found is not None and found.group(1)[0] == marker[0] and len(found.group(1)) >= len(marker) \
        and not found.group(2).strip()


def _tokens(markdown: str) -> list[Token]:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").parse(markdown)


def code_blocks(markdown: str) -> list[str]:
    return [token.content for token in _tokens(markdown) if token.type in ("fence", "code_block")]


def last_code_block(markdown: str) -> str | None:
    blocks = code_blocks(markdown)
    return blocks[-1] if blocks else None


def _inline_children(markdown: str) -> Iterator[Token]:
    for token in _tokens(markdown):
        if token.type == "inline":
            yield from token.children or []


def links(markdown: str) -> list[tuple[str, str]]:
    """(text, target) of every link, in order, each target once."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    text: list[str] = []
    href = None
    for child in _inline_children(markdown):
        if child.type == "link_open":
            href, text = str(child.attrs.get("href", "")), []
        elif child.type == "link_close" and href is not None:
            if href not in seen:
                seen.add(href)
                found.append(("".join(text).strip() or href, href))
            href = None
        elif href is not None and child.type in ("text", "code_inline"):
            text.append(child.content)
    return found


def is_web_link(href: str) -> bool:
    return href.strip().lower().startswith(("http://", "https://"))

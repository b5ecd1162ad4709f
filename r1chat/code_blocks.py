"""Fenced code blocks of a Markdown answer, for copying one without the prose around it."""

from __future__ import annotations


def code_blocks(markdown: str) -> list[str]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(markdown)
    return [token.content for token in tokens if token.type in ("fence", "code_block")]


def last_code_block(markdown: str) -> str | None:
    blocks = code_blocks(markdown)
    return blocks[-1] if blocks else None

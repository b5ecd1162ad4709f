"""A palette of a few choices (a thinking level, a compare turn's column): Enter chooses the one
highlighted, typing filters them, Esc goes back without a choice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape


class ChoicePalette(CommandPalette):
    """``choices`` are (text, value) pairs: the text is shown literally (model names are data),
    ``choose(value)`` is called with the one chosen; ``help`` says something under a choice."""

    def __init__(
        self,
        choices: Sequence[tuple[str, Any]],
        choose: Callable[[Any], object],
        *,
        placeholder: str,
        help: Callable[[Any], str | None] = lambda value: None,
    ) -> None:
        hits = [(text, partial(choose, value), help(value)) for text, value in choices]

        class Choices(Provider):
            async def discover(self) -> Hits:
                for text, command, said in hits:
                    yield DiscoveryHit(escape(text), command, text=text, help=escape(said) if said else None)

            async def search(self, query: str) -> Hits:
                matcher = self.matcher(query)
                for text, command, said in hits:
                    if (score := matcher.match(text)) > 0:
                        yield Hit(score, matcher.highlight(escape(text)), command, text=text,
                                  help=escape(said) if said else None)

        super().__init__(providers=[Choices], placeholder=placeholder)

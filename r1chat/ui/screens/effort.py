"""The thinking-effort palette: the levels the server takes for the model, or the server's own choice.

The chat screen asks which levels the model takes (``Capabilities.effort``) before opening
this, and says why instead when there are none.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider

SERVER_DEFAULT = "default (server's choice)"


class EffortPalette(CommandPalette):
    def __init__(self, levels: tuple[str, ...], current: str | None, choose: Callable[[str | None], None]) -> None:
        choices: list[tuple[str, str | None]] = [(level, level) for level in levels] + [(SERVER_DEFAULT, None)]

        class EffortChoices(Provider):
            def _hits(self):
                for text, level in choices:
                    yield text, partial(choose, level), "in use now" if level == current else None

            async def discover(self) -> Hits:
                for text, command, help in self._hits():
                    yield DiscoveryHit(text, command, text=text, help=help)

            async def search(self, query: str) -> Hits:
                matcher = self.matcher(query)
                for text, command, help in self._hits():
                    if (score := matcher.match(text)) > 0:
                        yield Hit(score, matcher.highlight(text), command, text=text, help=help)

        super().__init__(providers=[EffortChoices],
                         placeholder="Thinking effort… Enter sets it for this conversation · Esc goes back")

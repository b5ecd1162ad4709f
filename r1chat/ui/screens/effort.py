"""The thinking-effort palette: the levels the server takes for the model, or the server's own choice.

The chat screen asks which levels the model takes (``Capabilities.effort``) before opening
this, and says why instead when there are none.
"""

from __future__ import annotations

from collections.abc import Callable

from r1chat.ui.choices import ChoicePalette

SERVER_DEFAULT = "default (server's choice)"


class EffortPalette(ChoicePalette):
    def __init__(self, levels: tuple[str, ...], current: str | None, choose: Callable[[str | None], None]) -> None:
        choices: list[tuple[str, str | None]] = [(level, level) for level in levels] + [(SERVER_DEFAULT, None)]
        super().__init__(
            choices, choose,
            placeholder="Thinking effort… Enter sets it for this conversation · Esc goes back",
            help=lambda level: "in use now" if level == current else None,
        )

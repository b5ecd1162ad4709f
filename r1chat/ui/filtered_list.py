"""A list under a filter box: the arrow and page keys move the list while the box keeps the focus
(Input binds none of them), as the model picker and the compare picker have it."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import OptionList

_MOVES = (("up", "cursor_up", "Up"), ("down", "cursor_down", "Down"),
          ("pageup", "page_up", "Page up"), ("pagedown", "page_down", "Page down"))


def moving_keys(area: str) -> list[Binding]:
    """The four keys that move the list, with binding ids under ``area`` (``model_picker.up``)."""
    return [Binding(key, f"list('{move}')", title, show=False, id=f"{area}.{key.replace('page', 'page_')}")
            for key, move, title in _MOVES]


class FilteredList:
    """Mixin for the screen: ``list(move)`` moves its ``option_list``; ``key_of`` says a key."""

    @property
    def option_list(self) -> OptionList:
        return self.query_one("#models", OptionList)  # type: ignore[attr-defined]

    def action_list(self, action: str) -> None:
        if action in {move for _, move, _ in _MOVES}:
            getattr(self.option_list, f"action_{action}")()

    def key_of(self, binding_id: str) -> str:
        """How the key of one of the screen's own bindings is shown (after the user's keymap)."""
        for active in self.active_bindings.values():  # type: ignore[attr-defined]
            if active.node is self and active.binding.id == binding_id:
                return self.app.get_key_display(active.binding)
        return "?"

"""A message above the prompt when something went wrong, saying what to do about it."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from r1chat.sanitize import strip_controls


class Banner(Static):
    def show_problem(self, text: str, hint: str = "", *, severity: str = "error") -> None:
        body = Content.styled(strip_controls(text), "bold")
        if hint:
            body = Content.assemble(body, "\n", Content.styled(hint, "$foreground-muted"))
        self.update(body)
        self.set_classes(f"-{severity}")
        self.display = True

    def clear(self) -> None:
        self.display = False
        self.update("")

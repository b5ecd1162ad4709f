"""The floor for start-up: a Textual app with one line of text, measured like r1chat in a pty.

    python -m tests.benchmarks.minimal_app
"""

from textual.app import App, ComposeResult
from textual.widgets import Static

MARKER = "Minimal Textual app, ready"


class MinimalApp(App):
    def compose(self) -> ComposeResult:
        yield Static(MARKER)


if __name__ == "__main__":
    MinimalApp().run()

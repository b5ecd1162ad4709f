"""R1ChatApp: themes, keys, the command palette, and the chat screen."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.theme import Theme

from r1chat.pulls import Pull, Pulls, PullState
from r1chat.session import ChatSession
from r1chat.themes import builtin_theme_dir, read_theme_files


class R1ChatApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "r1chat"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True, id="quit"),
        Binding("f1", "help", "Help", id="help"),
    ]

    def __init__(self, session: ChatSession, *, notice: str | None = None, reopen: int | None = None) -> None:
        super().__init__()
        self.session = session
        self.notice = notice  # said once at start (e.g. where a broken database was moved)
        self.reopen = reopen
        # Pulls outlive the screen that started them: the app holds them.
        self.pulls = Pulls()
        self.pulls.on_finish(self._pull_finished)

    def on_mount(self) -> None:
        for path, data in read_theme_files(builtin_theme_dir()):
            self.register_theme(Theme(**data))
        ui = self.session.settings.ui
        self.theme = ui.theme if ui.theme in self.available_themes else "r1-dark"
        if self.session.settings.keys:
            self.set_keymap(self.session.settings.keys)
        from r1chat.ui.screens.chat import ChatScreen

        self.push_screen(ChatScreen(self.session, reopen=self.reopen))
        if self.notice:
            self.notify(self.notice, title="Database", severity="warning", timeout=20, markup=False)

    async def on_unmount(self) -> None:
        await self.pulls.cancel_all()
        await self.session.aclose()

    def _pull_finished(self, pull: Pull) -> None:
        if pull.viewers:  # its screen is open and says so itself
            return
        if pull.state is PullState.DONE:
            self.notify(f"Pulled {pull.model}", timeout=4, markup=False)
        elif pull.state is PullState.FAILED:
            self.notify(f"Pulling {pull.model} failed: {pull.error}", severity="error", timeout=8, markup=False)

    def action_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        from r1chat.ui.screens.chat import ChatScreen

        if not isinstance(screen, ChatScreen):
            return
        yield SystemCommand("New chat", "Start a new conversation (ctrl+n)", screen.action_new_chat)
        yield SystemCommand("History", "Open, search, rename, delete or export past conversations (ctrl+g)", screen.action_history)
        yield SystemCommand("Export conversation", "Write this conversation to Markdown or JSON", screen.export_conversation)
        yield SystemCommand("Stop", "Stop the answer that is streaming (esc)", screen.action_stop)
        yield SystemCommand("Retry", "Send the last prompt again (ctrl+r)", screen.action_retry)
        yield SystemCommand("Edit last prompt", "Change the last prompt and send it again (f2)", screen.action_edit_last)
        yield SystemCommand("Copy answer", "Copy the last answer to the clipboard (f3)", screen.action_copy_answer)
        yield SystemCommand("Copy trace", "Copy the last reasoning trace to the clipboard", screen.copy_trace)
        yield SystemCommand("Copy code block", "Copy the last code block of the last answer", screen.copy_code)
        yield SystemCommand("Open a link", "Pick a web link of the last answer to open in the browser", screen.open_link)
        yield SystemCommand("Toggle latest trace", "Fold or unfold the newest trace (ctrl+t)", screen.action_toggle_trace)
        yield SystemCommand("Expand all traces", "Unfold every reasoning trace", lambda: screen.set_all_traces(False))
        yield SystemCommand("Collapse all traces", "Fold every reasoning trace", lambda: screen.set_all_traces(True))
        yield SystemCommand("Toggle trace layout", "Traces above or beside their answers (ctrl+l)", screen.action_toggle_layout)
        yield SystemCommand("Connect", "Change host or provider (f4)", screen.action_connect)
        yield SystemCommand("Switch model", "Pick a model for the next answers (ctrl+o)", screen.action_pick_model)
        yield SystemCommand("Pull a model", "Download a model into Ollama", lambda: screen.open_pull(None))

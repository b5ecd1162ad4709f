"""R1ChatApp: themes, keys, the command palette, and the chat screen."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from r1chat.config import describe_setting
from r1chat.pulls import Pull, Pulls, PullState
from r1chat.session import ChatSession
from r1chat.ui import collector
from r1chat.ui.themes import DEFAULT_THEME, read_theme_files, register_themes, variable_defaults
from r1chat.ui.widgets import markdown


class R1ChatApp(App):
    # The chat screen's sheet is read with the app's: Textual reads no CSS_PATH of the default
    # screen (get_default_screen), and read when a screen is pushed, a sheet makes it parse every
    # sheet read so far a second time.
    CSS_PATH = ["app.tcss", "screens/chat.tcss"]
    TITLE = "r1chat"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True, id="quit"),
        Binding("f1", "help", "Help", id="help"),
    ]

    def __init__(self, session: ChatSession, *, notice: str | None = None, reopen: int | None = None) -> None:
        super().__init__()
        self.css_parsed = False
        self.session = session
        self.notice = notice  # said once at start (e.g. where a broken database was moved)
        self.reopen = reopen
        # Pulls outlive the screen that started them: the app holds them.
        self.pulls = Pulls()
        self.pulls.on_finish(self._pull_finished)
        # The theme is chosen before the app runs: set later, it would parse all CSS again.
        # Checking a theme parses CSS (~2 ms each): only the one shown at start is checked now, the
        # others once the first frame is up (_register_other_themes).
        settings = session.settings
        files, self.theme_problems = read_theme_files()
        wanted = [file for file in files if file.name == settings.ui.theme]
        self.theme_problems += register_themes(self, wanted)
        if settings.ui.theme not in self.available_themes:
            fallback = [file for file in files if file.name == DEFAULT_THEME]
            self.theme_problems += register_themes(self, fallback)
            wanted += fallback
        self.themes_unchecked = [file for file in files if file not in wanted]
        self.problems = list(settings.problems)
        if settings.ui.theme in self.available_themes:
            self.theme = settings.ui.theme
        else:
            self.problems.append(describe_setting(
                settings.path, "ui", "theme",
                f"is '{settings.ui.theme}', which is no theme r1chat has; using {DEFAULT_THEME} (ctrl+p, Theme lists them)",
            ))
            self.theme = DEFAULT_THEME

    def on_mount(self) -> None:
        self.css_parsed = True  # composing the chat screen parsed it
        self._stop_on_signals()
        self.call_after_refresh(self._register_other_themes)
        self.call_after_refresh(collector.start_up_done)
        self.call_after_refresh(self._warm_up)
        settings = self.session.settings
        problems = self.problems
        if settings.keys:
            from r1chat.ui.keys import check_keymap

            keymap, key_problems = check_keymap(settings.keys, settings.path)
            problems += key_problems
            self.set_keymap(keymap)
        if self.notice:
            self.notify(self.notice, title="Database", severity="warning", timeout=20, markup=False)
        # One message for the config file, one for theme files (_register_other_themes): each line
        # names a file and line.
        if problems:
            self.notify("\n".join(problems), title="Settings",
                        severity="warning", timeout=30, markup=False)

    def _warm_up(self) -> None:
        # In a thread: keys typed meanwhile are not held up. Nothing waits for it.
        asyncio.get_running_loop().run_in_executor(None, markdown.warm_up)

    def _register_other_themes(self) -> None:
        self.theme_problems += register_themes(self, self.themes_unchecked)
        self.themes_unchecked = []
        if self.theme_problems:
            self.notify("\n".join(self.theme_problems), title="Themes", severity="warning", timeout=30, markup=False)

    def refresh_css(self, animate: bool = True) -> None:
        if not self.css_parsed:
            # The theme set in __init__ asks for this before any CSS has been parsed: new variables
            # are all it needs. Textual's refresh parses every sheet into a throwaway copy, and
            # the first real parse then does it all again (~5 ms of start-up).
            self.stylesheet.set_variables(self.get_css_variables())
            return
        super().refresh_css(animate)

    def get_default_screen(self) -> Screen:
        # The chat screen is the first screen, not one pushed from on_mount: Textual holds every
        # frame back while the app's Mount handler runs, and that waits for a pushed screen to be
        # mounted, so its first frame was dropped and the prompt showed a frame later (~60 ms).
        from r1chat.ui.screens.chat import ChatScreen

        return ChatScreen(self.session, reopen=self.reopen)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # r1chat's own colours (trace-title, ...) for themes that do not set them, Textual's among them.
        return variable_defaults(self.current_theme)

    def search_themes(self) -> None:
        from r1chat.ui.screens.theme_picker import ThemePalette

        self.push_screen(ThemePalette())

    def action_settings(self) -> None:
        from r1chat.ui.screens.settings import SettingsScreen

        if not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen(self.session))

    def action_conversation_settings(self) -> None:
        from r1chat.ui.screens.conversation_settings import ConversationSettingsScreen

        self.push_screen(ConversationSettingsScreen(self.session))

    async def on_unmount(self) -> None:
        await self.pulls.cancel_all()
        await self.session.aclose()

    def _stop_on_signals(self) -> None:
        """A closed terminal (SIGHUP) or a polite kill (SIGTERM) ends the app as quitting does, so
        the answer streaming at that moment is saved whole, marked interrupted."""
        import asyncio
        import signal

        loop = asyncio.get_running_loop()
        for number in (signal.SIGHUP, signal.SIGTERM):
            try:
                loop.add_signal_handler(number, self._stop_for_signal)
            except (NotImplementedError, RuntimeError, ValueError):  # not on this platform
                pass

    def _stop_for_signal(self) -> None:
        from r1chat.conversation import APP_STOPPED
        from r1chat.ui.screens.chat import ChatScreen

        async def stop() -> None:
            for screen in self.screen_stack:
                if isinstance(screen, ChatScreen):
                    await screen._stop_streaming(APP_STOPPED)
            self.exit(return_code=1)

        self.call_later(stop)

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
        yield SystemCommand("Settings", "Providers, keys, model options, traces, theme (ctrl+s)", self.action_settings)
        yield SystemCommand("Conversation settings", "This conversation's model, temperature, num_ctx, system prompt",
                            self.action_conversation_settings)
        yield SystemCommand("History", "Open, search, rename, delete or export past conversations (ctrl+g)", screen.action_history)
        yield SystemCommand("Export conversation", "Write this conversation to Markdown or JSON", screen.export_conversation)
        yield SystemCommand("Stop", "Stop the answer that is streaming (esc)", screen.action_stop)
        yield SystemCommand("Retry", "Send the last prompt again (ctrl+r)", screen.action_retry)
        yield SystemCommand("Edit last prompt", "Change the last prompt and send it again (f2)", screen.action_edit_last)
        yield SystemCommand("Copy answer", "Copy the last answer to the clipboard (f3)", screen.action_copy_answer)
        yield SystemCommand("Copy trace", "Copy the last reasoning trace to the clipboard", screen.copy_trace)
        yield SystemCommand("Copy code block", "Copy the last code block of the last answer", screen.copy_code)
        yield SystemCommand("Copy final answer", "Copy just the boxed value (final answer) of the last answer", screen.copy_final_answer)
        yield SystemCommand("Open a link", "Pick a web link of the last answer to open in the browser", screen.open_link)
        yield SystemCommand("Toggle latest trace", "Fold or unfold the newest trace (ctrl+t)", screen.action_toggle_trace)
        yield SystemCommand("Expand all traces", "Unfold every reasoning trace", lambda: screen.set_all_traces(False))
        yield SystemCommand("Collapse all traces", "Fold every reasoning trace", lambda: screen.set_all_traces(True))
        if screen.has_class("-hide-traces"):
            yield SystemCommand("Show all traces", "Show the reasoning traces again", screen.toggle_hidden_traces)
        else:
            yield SystemCommand("Hide all traces", "Answers only, for a clean read", screen.toggle_hidden_traces)
        yield SystemCommand("Toggle trace layout", "Traces above or beside their answers (ctrl+l)", screen.action_toggle_layout)
        yield SystemCommand("Connect", "Change host or provider (f4)", screen.action_connect)
        from textual.markup import escape  # palette names and help are markup; presets are the user's text

        for name, directive in self.session.presets().items():
            yield SystemCommand(escape(f"Prompt preset: {name}"), escape(f"End each prompt with: {directive}"),
                                lambda name=name: screen.use_preset(name))
        if self.session.preset is not None:
            yield SystemCommand("Prompt preset: none", "Send prompts as typed", lambda: screen.use_preset(None))
        yield SystemCommand("Thinking effort", "How hard the model thinks in this conversation, where the server "
                            "takes levels (DeepSeek, OpenRouter, Ollama 0.18+)", screen.choose_effort)
        yield SystemCommand("Switch model", "Pick a model for the next answers (ctrl+o)", screen.action_pick_model)
        yield SystemCommand("Pull a model", "Download a model into Ollama", lambda: screen.open_pull(None))

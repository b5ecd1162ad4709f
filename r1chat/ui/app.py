"""R1ChatApp: themes, keys, the command palette, and the chat screen: the one module that creates
it, and routes what other screens return to it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from r1chat import collector
from r1chat.config import describe_setting
from r1chat.pulls import Pull, Pulls, PullState
from r1chat.sanitize import pasted_text, strip_controls
from r1chat.session import ChatSession
from r1chat.ui import textual_fixes
from r1chat.ui.commands import Commands
from r1chat.ui.crash import Crash

if TYPE_CHECKING:
    from rich.console import RenderableType
    from textual.driver import Driver
    from textual.notifications import SeverityLevel

    from r1chat.conversation import Conversation
    from r1chat.ui.screens.chat import ChatScreen
from r1chat.ui.themes import DEFAULT_THEME, read_theme_files, register_themes, variable_defaults
from r1chat.ui.widgets import markdown

# How long a warning at start stays (it covered a third of an 80x24 screen for 30 s).
WARNING_SECONDS = 8


def _driver_class() -> type[Driver] | None:
    if sys.platform == "win32":
        return None  # Textual's Windows driver
    from r1chat.ui.driver import Driver

    return Driver


HANG_UP_GRACE = 5.0  # seconds from a closed terminal to the end of the process, whatever happens


class R1ChatApp(App):
    # The chat screen's sheet is read with the app's: Textual reads no CSS_PATH of the default
    # screen (get_default_screen), and read when a screen is pushed, a sheet makes it parse every
    # sheet read so far a second time.
    CSS_PATH = ["app.tcss", "screens/chat.tcss"]
    COMMANDS = {Commands}  # one list, in one order (Textual's own commands last)
    TITLE = "r1chat"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True, id="quit"),
        Binding("f1", "help", "Help", id="help"),
    ]

    def __init__(
        self, session: ChatSession, *, notice: str | None = None, info: str | None = None, reopen: int | None = None
    ) -> None:
        super().__init__(driver_class=_driver_class())
        textual_fixes.apply()
        self.crash: Crash | None = None  # what ended the app unexpectedly
        self.stopping = False  # a signal or a closed terminal is ending the app
        self.css_parsed = False
        self.session = session
        self.notice = notice  # said once at start (e.g. where a broken database was moved)
        self.info = info  # said once at start, as news (where the copy made before an upgrade is)
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

    # Every toast and every copy goes through these two: a toast's text is drawn with only BEL, BS,
    # VT, FF and CR dropped (ESC passes, so an OSC 52 in a server's error would reach the
    # terminal), and a copy is pasted later into a terminal or a file.
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        super().notify(
            strip_controls(message), title=strip_controls(title), severity=severity, timeout=timeout, markup=markup
        )

    def copy_to_clipboard(self, text: str) -> None:
        super().copy_to_clipboard(strip_controls(text))

    async def on_event(self, event: events.Event) -> None:
        # Every paste passes here on its way to the focused widget (the prompt, a search box, a
        # path): cleaned once, for all of them. A long one with CR line endings was otherwise
        # held by the prompt as one line.
        if isinstance(event, events.Paste) and not event.is_forwarded:
            event.text = pasted_text(event.text)
        await super().on_event(event)

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
        if self.info:
            self.notify(self.info, title="Database", timeout=10, markup=False)
        # One message for the config file, one for theme files (_register_other_themes): each line
        # names a file and line. Short-lived: the help screen (F1) lists them all as long as it runs.
        if problems:
            self.notify("\n".join(problems), title="Settings",
                        severity="warning", timeout=WARNING_SECONDS, markup=False)

    def _warm_up(self) -> None:
        # In a thread: keys typed meanwhile are not held up. Nothing waits for it.
        asyncio.get_running_loop().run_in_executor(None, markdown.warm_up)

    def _register_other_themes(self) -> None:
        self.theme_problems += register_themes(self, self.themes_unchecked)
        self.themes_unchecked = []
        if self.theme_problems:
            self.notify("\n".join(self.theme_problems), title="Themes", severity="warning",
                        timeout=WARNING_SECONDS, markup=False)

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
        self.chat = self.chat_screen_class()(self.session, reopen=self.reopen)
        return self.chat

    @staticmethod
    def chat_screen_class() -> type[ChatScreen]:
        """The chat screen's class, imported when first asked for (this module is the one that
        imports it)."""
        from r1chat.ui.screens.chat import ChatScreen

        return ChatScreen

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # r1chat's own colours (trace-title, ...) for themes that do not set them, Textual's among them.
        return variable_defaults(self.current_theme)

    def search_themes(self) -> None:
        from r1chat.ui.screens.theme_picker import ThemePalette

        self.push_screen(ThemePalette())

    def action_settings(self) -> None:
        from r1chat.ui.screens.settings import SettingsScreen

        if not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen(self.session), self._settings_saved)

    def _settings_saved(self, saved: Any) -> None:
        if saved is not None:
            self.chat.apply_settings(saved.changed)
            if saved.reconnected:
                self.chat.check_connection()

    def action_conversation_settings(self) -> None:
        from r1chat.ui.screens.conversation_settings import ConversationSettingsScreen

        self.push_screen(
            ConversationSettingsScreen(self.session), lambda model: self.chat.status.show(self.session) if model else None
        )

    def action_history(self) -> None:
        from r1chat.ui.screens.history import HistoryScreen

        self.push_screen(HistoryScreen(self.session.store, current=self.session.conversation.id), self._from_history)

    async def _from_history(self, visit: Any) -> None:
        """Open what the history chose, or keep up with what it changed."""
        chat, current = self.chat, self.session.conversation
        if visit.opened is not None:
            opened = visit.opened
            await chat.open_conversation(
                opened.conversation_id, message_id=opened.message_id, in_trace=opened.in_trace, words=opened.words
            )
        elif current.id is not None and current.id in visit.deleted:
            await chat.action_new_chat()  # the conversation on screen is gone
            self.notify("The conversation you were in was deleted: this is a new one.", timeout=4)
        elif current.id in visit.renamed:
            current.title = visit.renamed[current.id]

    def action_pick_model(self) -> None:
        from r1chat.ui.screens.model_picker import MODEL, PULL, ModelPicker

        provider = self.session.provider.name

        def picked(result: Any) -> None:
            chosen = result.value if result is not None and result.action == MODEL else None
            self.chat.model_picked(chosen, provider_switched=self.session.provider.name != provider)
            if result is not None and result.action == PULL:
                self.pull(result.value)

        self.push_screen(ModelPicker(self.session), picked)

    def action_compare(self) -> None:
        from r1chat.refs import ModelRef
        from r1chat.ui.screens.compare_picker import ComparePicker

        session = self.session
        picked = list(session.compare_refs or ())
        if not picked and (model := session.shown_model or session.preferred_model()):
            picked = [ModelRef(model, session.provider.name)]  # the model in use, to compare with others
        self.push_screen(ComparePicker(session, picked), self.chat.compare_picked)

    def action_tools(self) -> None:
        from r1chat.ui.screens.tools import ToolsScreen

        if isinstance(self.screen, ToolsScreen):
            self.pop_screen()
        else:
            self.push_screen(ToolsScreen(self.session), lambda _: self.chat.status.show_tools(self.session))

    def action_connect(self) -> None:
        from r1chat.ui.screens.connect import ConnectScreen

        self.push_screen(ConnectScreen(self.session), lambda switched: self.chat.provider_switched() if switched else None)

    def export(self, conversation: Conversation) -> None:
        from r1chat.ui.screens.history import ExportScreen

        self.push_screen(ExportScreen(conversation))

    def pick_link(self, links: list[tuple[str, str]]) -> None:
        """Links are never followed by themselves: the reader picks one of these to open."""
        from r1chat.ui.screens.links import LinkPicker

        self.push_screen(LinkPicker(links), lambda url: self.open_url(url) if url else None)

    def pick_effort(self, levels: tuple[str, ...], current: str | None, choose: Callable[[str | None], None]) -> None:
        from r1chat.ui.screens.effort import EffortPalette

        self.push_screen(EffortPalette(levels, current, choose))

    def pick_column(self, columns: list[tuple[str, int]], choose: Callable[[int], object]) -> None:
        from r1chat.ui.choices import ChoicePalette

        placeholder = "Go on with… Enter chooses that column's model · Esc goes back"
        self.push_screen(ChoicePalette(columns, choose, placeholder=placeholder))

    def action_pull(self, model: str | None = None) -> None:
        self.pull(model)

    def pull(self, model: str | None, *, start: bool = False, then: Callable[[], None] | None = None) -> None:
        """Open the pull screen (a pull outlives it: the app holds them); ``start``: pull ``model``
        at once; ``then`` is called once it is there."""
        from r1chat.ui.screens.pull import PullScreen

        backend = self.session.backend
        if backend.models is None:
            self.notify(f"Pulling is an Ollama feature; {self.session.provider.name} serves its own models.",
                        severity="warning", markup=False)
            return
        if then is not None and model is not None:
            self.pulls.when_done(model, then)
        self.push_screen(PullScreen(self.pulls, backend, model, start=start or then is not None))

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
                loop.add_signal_handler(number, self._stop_for_signal, number)
            except (NotImplementedError, RuntimeError, ValueError):  # not on this platform
                pass

    def _stop_for_signal(self, number: int) -> None:
        import os
        import signal
        import threading

        from r1chat.conversation import APP_STOPPED

        if self.stopping:  # a closed terminal says so twice: SIGHUP, and its dead input and output
            return
        self.stopping = True
        if number == signal.SIGHUP:
            # The way out takes a fraction of a second; should anything block it (a lock held by
            # another process, a Textual write to the dead terminal), the process still must not
            # outlive its terminal. What streamed is saved every second or so, and the next start
            # marks a cut-off answer interrupted.
            watchdog = threading.Timer(HANG_UP_GRACE, os._exit, args=(128 + number,))
            watchdog.daemon = True
            watchdog.start()

        async def stop() -> None:
            await self.session.stop_and_wait(APP_STOPPED)
            self.exit(return_code=128 + number)

        self.call_later(stop)

    def on_terminal_closed(self) -> None:
        """The terminal is gone without a SIGHUP (or before it arrives): end as for one."""
        import signal

        self._stop_for_signal(signal.SIGHUP)

    # --- crashes: Textual 8.2.8's handling, kept but for where the traceback goes ---------------

    def record_crash(self, error: BaseException) -> None:
        """Write what ended the app to a log (the first error only: the rest follow from it)."""
        if self.crash is None:
            self.crash = Crash.of(error)

    def _handle_exception(self, error: Exception) -> None:
        # Textual ends the app (return code 1) and prints the traceback once the screen is
        # restored; r1chat writes it to a log file first, and prints one line naming it.
        self.record_crash(error)
        super()._handle_exception(error)

    def panic(self, *renderables: RenderableType) -> None:
        # Textual's input thread reports its own crash this way.
        if self.crash is None:
            from r1chat.ui.crash import render

            text = render(list(renderables))
            self.crash = Crash(text.strip().splitlines()[-1] if text.strip() else "panic", text)
        super().panic(*renderables)

    def _print_error_renderables(self) -> None:
        if self.crash is not None and self.crash.log is not None:
            self._exit_renderables.clear()  # the log has them; the terminal gets one line (cli.py)
            return
        super()._print_error_renderables()

    def _pull_finished(self, pull: Pull) -> None:
        if pull.viewers:  # its screen is open and says so itself
            return
        if pull.state is PullState.DONE:
            self.notify(f"Pulled {pull.model}", timeout=4, markup=False)
        elif pull.state is PullState.FAILED:
            self.notify(f"Pulling {pull.model} failed: {pull.error}", severity="error", timeout=8, markup=False)

    def action_help(self) -> None:
        from r1chat.themes import user_theme_dir
        from r1chat.ui.screens.help import HelpFacts, HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        warnings = [self.notice] if self.notice else []
        facts = HelpFacts(
            config=self.session.settings.path,
            database=self.session.store.path,
            themes=user_theme_dir(),
            layout=self.chat.layout_said(),
            warnings=[*warnings, *self.problems, *self.theme_problems],
        )
        self.push_screen(HelpScreen(facts))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Textual's "Keys" opens its key panel for the focused widget; F1 ("Help") is r1chat's.
        return [command for command in super().get_system_commands(screen) if command.title != "Keys"]

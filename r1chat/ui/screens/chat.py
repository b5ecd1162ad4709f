"""The chat screen: the conversation, the prompt, a status bar. The session decides and streams;
this screen sends it the user's intents and shows what it emits."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import TextArea

from r1chat import collector
from r1chat.attachments import AttachmentRefused, attachments_of, is_image
from r1chat.backends import MissingSetting, backend_module
from r1chat.backends.base import BackendError, Content, ContextOverflow, ModelNotFound, Reasoning, Support, Unreachable
from r1chat.compare import answer_cost
from r1chat.config import ConfigError
from r1chat.conversation import AttachmentPart, Message
from r1chat.refs import ModelRef
from r1chat.sanitize import strip_controls
from r1chat.session import (
    Busy,
    ChatSession,
    NoModel,
    SessionEvent,
    ToolCallEnded,
    ToolNote,
    ToolsChanged,
    ToolsUnavailable,
    TurnEnded,
    TurnStarted,
)
from r1chat.store import StoreError
from r1chat.tools import ApprovalRequest, Verdict
from r1chat.turn import Turn
from r1chat.ui.commands import chat_commands, copy_from_answer
from r1chat.ui.file_picker import AttachQuestion, FilePicker
from r1chat.ui.widgets.banner import Banner
from r1chat.ui.widgets.compare import CompareAnswers, CompareColumn
from r1chat.ui.widgets.conversation import ConversationView
from r1chat.ui.widgets.footer import KeysFooter
from r1chat.ui.widgets.prompt import Prompt
from r1chat.ui.widgets.status_bar import StatusBar
from r1chat.ui.window_offer import NEW, RAISE, SEND, WindowOffer

SIDE_BY_SIDE_WIDTH = 140
LAYOUTS = ("auto", "side", "inline")  # the order ctrl+l goes round them
RECHECK_SECONDS = 3.0  # while the server cannot be reached, it is asked again this often
PIECES = (Reasoning, Content)
# Why a turn could not start (the prompt goes back into the box); a compare turn also names
# providers that may be gone from the config or not set up.
NOT_STARTED = (BackendError, NoModel, StoreError, Busy, ConfigError, MissingSetting)
# The draft is stored this long after the last key: one small write a pause, not one a key.
DRAFT_DELAY = 0.5


class ChatScreen(Screen[None]):
    CSS_PATH = "chat.tcss"
    AUTO_FOCUS = "Prompt"
    PALETTE = chat_commands  # the palette's commands without a key (ui/commands.py)
    BINDINGS = [
        Binding("escape", "stop", "Stop", id="stop"),
        Binding("ctrl+t", "toggle_trace", "Trace", id="toggle_trace"),
        Binding("ctrl+l", "toggle_layout", "Layout", show=False, id="toggle_layout"),
        Binding("ctrl+n", "new_chat", "New", id="new_chat"),
        Binding("ctrl+r", "retry", "Retry", show=False, id="retry"),  # the banner offers it
        Binding("f2", "edit_last", "Edit", show=False, id="edit_last"),
        Binding("f3", "copy_answer", "Copy", id="copy_answer"),
        Binding("f4", "app.connect", "Connect", show=False, id="connect"),
        Binding("f8", "keep_going", "Go on", show=False, id="keep_going"),  # the loop banner offers it
        # The banner offers it after a trace used the whole budget; beside ctrl+r, its other retry.
        Binding("alt+r", "retry_without_thinking", "Answer without thinking", show=False, id="retry_without_thinking"),
        Binding("alt+left", "version(-1)", "Previous version", show=False, id="previous_version"),
        Binding("alt+right", "version(1)", "Next version", show=False, id="next_version"),
        Binding("ctrl+f", "attach_file", "Attach", show=False, id="attach_file"),
        Binding("ctrl+o", "app.pick_model", "Model", id="pick_model"),
        Binding("alt+c", "app.compare", "Compare", show=False, id="compare"),
        # Not alt+1..4: Textual reads ESC 1..ESC 0 as the characters macOS's Option key types there.
        Binding("alt+g", "choose_column", "Go on with", show=False, id="choose_column"),
        Binding("ctrl+g", "app.history", "History", id="history"),
        # ctrl+s: free in the prompt's TextArea (f5-f7 select there) and not captured by terminals
        # (Textual turns XON/XOFF off); shown in the palette and F1, the footer is full at 80 columns.
        Binding("ctrl+s", "app.settings", "Settings", show=False, id="settings"),
        Binding("f5", "app.tools", "Tools", show=False, id="tools"),
        Binding("f9", "toggle_tools", "Tools on/off", show=False, id="toggle_tools"),
    ]

    def __init__(self, session: ChatSession, *, reopen: int | None = None) -> None:
        super().__init__()
        self.session = session
        self.reopen = reopen  # a conversation to show at once (one whose turn a crash cut off)
        self.layout_choice = session.settings.ui.trace_layout
        self.editing = False  # Enter sends the prompt as a new version of the last one (f2)
        self._draft_due: Timer | None = None  # set while a change to the prompt is not stored
        self._stream_pass: Timer | None = None  # while turns stream: collect what they made (collector)
        self._marked_over = ""  # the prompt's text when a search's words were highlighted
        self._draft_failed = False
        self._recheck: Timer | None = None  # the next check of a server that could not be reached
        self.folder = Path.cwd()  # the @ picker lists the folder r1chat was started in
        self._images_asked: set[tuple[str, str]] = set()  # (provider, model) sent images on the user's word
        # The turn in which a tool call was denied with Esc: Esc in its next question stops it.
        self._escaped_turn: Turn | None = None

    def compose(self) -> ComposeResult:
        yield ConversationView(id="conversation", collapse=self.session.settings.ui.trace_collapse)
        yield Banner(id="banner")
        yield Prompt(id="prompt")
        yield StatusBar(id="status")
        yield KeysFooter()

    @property
    def view(self) -> ConversationView:
        return self.query_one(ConversationView)

    @property
    def prompt(self) -> Prompt:
        return self.query_one(Prompt)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def banner(self) -> Banner:
        return self.query_one(Banner)

    async def on_mount(self) -> None:
        self.view.cost_of = self._cost_of
        self.view.choose_keys = self._choose_keys
        self.view.session_conversation = lambda: self.session.conversation
        # The view draws the turns; this screen's own listener sees pieces pass, and ignores them.
        self._stop_hearing = (self.session.subscribe(self.view.hear), self.session.subscribe(self._hear))
        self.session.approver = self.approve
        self._typed = self.prompt  # still readable while the screen unmounts (quitting), unlike a query
        self.banner.clear()
        self.status.show(self.session)
        self.apply_layout()
        if self.reopen is not None:
            await self.open_conversation(self.reopen)
        elif self.session.conversation.messages:
            await self.view.show(self.session.conversation)
            self._restore_draft()
        elif (drafted := self.session.drafted_conversation()) is not None:
            await self.open_conversation(drafted)  # closed with something typed there: back to it
        else:
            self._restore_draft()
        # After the first frame: the check builds the backend, whose imports take a while.
        self.call_after_refresh(self.check_connection)

    def on_unmount(self) -> None:
        self._store_draft()  # quitting: what is typed is kept for next time
        for stop in self._stop_hearing:
            stop()
        if self.session.approver == self.approve:
            self.session.approver = None

    # --- the draft -------------------------------------------------------------------------------

    @on(TextArea.Changed, "#prompt")
    def _prompt_changed(self) -> None:
        if self.view.marked is not None and self.prompt.text != self._marked_over:
            self.view.unmark()  # typing: the reader is done with what the search found
        if self._draft_due is not None:
            self._draft_due.stop()
        self._draft_due = self.set_timer(DRAFT_DELAY, self._store_draft)

    def _store_draft(self, text: str | None = None) -> None:
        """Store the prompt's text (or ``text``) as this conversation's draft, if it changed."""
        if self._draft_due is None and text is None:
            return
        if self._draft_due is not None:
            self._draft_due.stop()
            self._draft_due = None
        try:
            self.session.keep_draft(self._typed.prompt_text if text is None else text)
        except StoreError as error:
            if not self._draft_failed:  # once: the next keys would say it again
                self._draft_failed = True
                self.notify(f"What you type is not kept for next time: {error}", severity="warning", markup=False)

    def _restore_draft(self) -> None:
        self.prompt.set_prompt(self.session.draft())
        if self._draft_due is not None:  # what was just put there is what is stored
            self._draft_due.stop()
            self._draft_due = None

    def _hear(self, event: SessionEvent) -> None:
        if type(event) in PIECES:
            return
        if type(event) is ToolCallEnded:
            return
        self.status.hear(event)
        self.banner.hear(event)
        if isinstance(event, ToolNote):
            self.notify(event.text, title="Tools", severity="warning", timeout=6, markup=False)
        elif isinstance(event, (ToolsUnavailable, ToolsChanged)):
            self.status.show_tools(self.session)
        if isinstance(event, TurnStarted):
            collector.turn_started()
            if self._stream_pass is None:
                self._stream_pass = self.set_interval(collector.STREAM_PASS, collector.while_streaming)
        elif isinstance(event, TurnEnded):
            collector.turn_ended()
            if self._stream_pass is not None and not collector.streaming():
                self._stream_pass.stop()
                self._stream_pass = None
            self.set_timer(0.2, collector.collect_if_idle)  # once the answer is on screen
            self._after_turn(event)
            if self.status.connection in ("unreachable", "failed"):
                self.check_connection(quiet=True)  # did the server die, or only the turn?

    def apply_settings(self, changed: set[tuple[str, ...]]) -> None:
        """Saved settings that change this screen now (others apply to the next turn)."""
        ui = self.session.settings.ui
        if ("ui", "trace_layout") in changed:
            self.apply_layout(ui.trace_layout)
        if ("ui", "trace_collapse") in changed:
            self.view.collapse = ui.trace_collapse  # for the traces to come

    # --- layout and traces -------------------------------------------------------------------

    def _side(self) -> bool:
        return self.size.width >= SIDE_BY_SIDE_WIDTH if self.layout_choice == "auto" else self.layout_choice == "side"

    def apply_layout(self, choice: str | None = None) -> None:
        self.layout_choice = choice or self.layout_choice
        self.set_class(self._side(), "-side")

    def on_resize(self, event: Resize) -> None:
        self.apply_layout()

    def action_toggle_layout(self) -> None:
        self.apply_layout(LAYOUTS[(LAYOUTS.index(self.layout_choice) + 1) % len(LAYOUTS)])
        self.notify(self.layout_said(), title="Trace layout", timeout=3)

    def layout_said(self) -> str:
        """The layout chosen, and what it gives at this width."""
        where = "beside their answers" if self._side() else "above their answers"
        if self.layout_choice == "auto":
            return f"auto: traces {where} (beside from {SIDE_BY_SIDE_WIDTH} columns)"
        return f"{self.layout_choice}: traces {where} at any width"

    def action_toggle_trace(self) -> None:
        if not self.view.toggle_latest_trace():
            self.notify("No reasoning trace yet", timeout=2)

    # --- connection --------------------------------------------------------------------------

    @work(group="connection", exclusive=True, exit_on_error=False)
    async def check_connection(self, quiet: bool = False) -> None:
        """Ask the server; while it cannot be reached, again every few seconds until it can, so
        the status bar says so when it is back. ``quiet``: a re-check, which leaves the bar and
        the banner as they are until it knows better."""
        status = self.status
        if self._recheck is not None:
            self._recheck.stop()
            self._recheck = None
        if not quiet:
            status.connection, status.url = "connecting", self.session.url
        # Imported off the event loop, so keys typed meanwhile are not held up.
        await asyncio.to_thread(importlib.import_module, backend_module(self.session.provider))
        found = await self.session.check()
        if self.session.streaming:  # a turn began meanwhile: how it ends says more
            return
        status.found(found, after_failure=quiet)
        status.model = found.model or status.model
        if not quiet or found.error is None:  # a turn's own error stays until the server is back
            self.banner.show_connection(found)
        if not found.reached:
            self._recheck = self.set_timer(RECHECK_SECONDS, lambda: self.check_connection(quiet=True))

    def provider_switched(self) -> None:
        self.status.show(self.session)
        self.check_connection()

    # --- sending -----------------------------------------------------------------------------

    @on(Prompt.Submitted)
    def _submitted(self, event: Prompt.Submitted) -> None:
        if self.session.streaming:
            self.notify("An answer is still streaming: Esc stops it. Your prompt is kept.", severity="warning")
            return
        event.prompt.remember(event.text)
        event.prompt.clear()
        self.view.unmark()
        self._store_draft("")  # now, under this conversation: sending may give it an id
        if self.editing:
            self.editing = False
            self.run_worker(self._turn(self.session.edit_last(event.text, attached=event.attached), event.text,
                                       event.attached), group="turn", exit_on_error=False)
        else:
            self.run_worker(self._send(event.text, event.attached), group="turn", exit_on_error=False)

    def _run(self, intent: Coroutine[Any, Any, object], text: str | None = None) -> None:
        self.run_worker(self._turn(intent, text), group="turn", exit_on_error=False)

    async def _turn(
        self, intent: Coroutine[Any, Any, object], text: str | None, attached: list[AttachmentPart] | None = None
    ) -> None:
        """Run an intent of the session; what could not start goes back into the prompt box."""
        try:
            await intent
        except NOT_STARTED as error:
            if text is not None:
                self.prompt.give_back(text, attached)
            self.banner.show_error(error, prompt_kept=text is not None)
            if isinstance(error, Unreachable):
                self.status.connection = "unreachable"
                self.check_connection(quiet=True)

    # --- the context window ------------------------------------------------------------------

    async def _send(self, text: str, attached: list[AttachmentPart] | None = None) -> None:
        """Send ``text`` (and ``attached``); when the conversation would not fit the window, or an
        image goes to a model that may not take images, ask first."""
        attached = attached or []
        if not await self._images_wanted(attached):
            self.prompt.give_back(text, attached)
            return
        fit = await self.session.fit(text, attached=attached)
        way = SEND if fit.fits else await self.app.push_screen_wait(WindowOffer(fit))
        if way is None:
            self.prompt.give_back(text, attached)
        elif way == NEW:
            await self._carry_into_new_chat(text)
        else:
            allow_cut = way == SEND and not fit.fits
            if way == RAISE and not self._raise_window(fit.larger_window):
                self.prompt.give_back(text, attached)
                return
            send = self.session.send(text, attached=attached, truncate=True if allow_cut else None)
            await self._turn(send, text, attached)

    async def _images_wanted(self, attached: list[AttachmentPart]) -> bool:
        """Images for a model whose server does not say whether it takes them: asked once per model."""
        if not any(is_image(part) for part in attached) or await self.session.image_support() is not Support.UNKNOWN:
            return True
        key = (self.session.provider.name, self.session.shown_model)
        if key in self._images_asked:
            return True
        yes = await self.app.push_screen_wait(AttachQuestion(
            f"Send the image to {key[1] or 'this model'}?",
            f"{self.session.url} does not say whether the model takes images. If it does not, the server "
            "will refuse the request or the model will not see the image.",
            yes="Send it", no="Back"))
        if yes:
            self._images_asked.add(key)
        return bool(yes)

    # --- attachments -------------------------------------------------------------------------

    @on(Prompt.AttachWanted)
    def _attach_wanted(self, event: Prompt.AttachWanted) -> None:
        self._pick_file(event.location)

    def action_attach_file(self) -> None:
        self._pick_file(None)

    def _pick_file(self, at: tuple[int, int] | None) -> None:
        """The picker; a file chosen becomes a chip in place of the ``@`` typed at ``at`` (Esc
        leaves the ``@`` as it was typed)."""

        def chosen(path: str | None) -> None:
            if path is not None:
                self._read_and_attach(self.folder / path, path, at=at)
            else:
                self.prompt.focus()

        self.app.push_screen(FilePicker(self.folder), chosen)

    @on(Prompt.PathPasted)
    def _path_pasted(self, event: Prompt.PathPasted) -> None:
        path = event.path
        try:
            name = str(path.relative_to(self.folder))
        except ValueError:
            name = str(path)

        def answered(yes: bool | None) -> None:
            if yes:
                self._read_and_attach(path, name, replacing=event.text)

        self.app.push_screen(AttachQuestion(f"Attach {name}?", "You pasted the path of a file. Attached, its text "
                                            "(or the image) goes with your prompt; otherwise the path stays as text.",
                                            yes="Attach", no="Keep the text"), answered)

    @work(group="attach", exit_on_error=False)
    async def _read_and_attach(self, path: Path, name: str, *, at: tuple[int, int] | None = None, replacing: str = "") -> None:
        """Read the file off the UI's thread; a chip when it can go with the prompt, one line when not."""
        try:
            part = await asyncio.to_thread(self.session.read_attachment, str(path), name=name)
            await self.session.check_attachments([part])  # a model known not to take images says so now
        except AttachmentRefused as error:
            self.notify(strip_controls(str(error)), severity="error", timeout=8, markup=False)
            return
        self.prompt.attach(part, at, replacing=replacing)

    def _raise_window(self, num_ctx: int | None) -> bool:
        if num_ctx is None:
            return False
        try:
            self.session.raise_window(num_ctx)
        except StoreError as error:
            self.banner.show_error(error)
            return False
        self.notify(f"This conversation is sent with num_ctx {num_ctx:,} from now on.", timeout=3)
        return True

    async def _carry_into_new_chat(self, text: str | None) -> None:
        """A new conversation whose prompt box holds a line about this one, then ``text``."""
        summary = self.session.summary_line()
        await self.action_new_chat()
        self.prompt.set_prompt("\n\n".join(part for part in (summary, text) if part))

    @work(group="after_turn", exit_on_error=False)
    async def _after_turn(self, event: TurnEnded) -> None:
        """What the window did to the turn: refused it, cut its history, or left no room to answer."""
        turn, session = event.turn, self.session
        if isinstance(event.error, ContextOverflow):
            fit = await session.fit(None)  # the stored prompt is the last message
            way = await self.app.push_screen_wait(WindowOffer(fit, refused=True))
            if way == NEW:
                await self._carry_into_new_chat(None)
            elif way == SEND:
                self._run(session.retry(truncate=True))
            elif way == RAISE and self._raise_window(fit.larger_window):
                self._run(session.retry())
            return
        answer = turn.assistant
        room = await session.out_of_room(turn)
        if room is not None:
            self.banner.show_out_of_room(room)
        elif answer.stats.history_cut:
            self.banner.show_history_cut(answer.stats.context_size, (await session.fit(None)).larger_window)

    def action_retry_without_thinking(self) -> None:
        room = self.banner.room
        if room is not None and room.think_off and not self.session.streaming:
            self._run(self.session.retry(think=False))

    def action_copy_answer(self) -> None:
        copy_from_answer(self, "answer", lambda message, shown: message.content or shown)

    # --- tools -------------------------------------------------------------------------------

    async def approve(self, request: ApprovalRequest) -> Verdict:
        """The session's approver: ask with a modal, and wait for the answer."""
        from r1chat.ui.screens.approval import ApprovalScreen

        turn = self.session.turn
        screen = ApprovalScreen(request, escape_stops=turn is not None and turn is self._escaped_turn)
        answered: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        live = self.view.live
        if live is not None:
            live.call_asking(request.call_id, True)
        self.app.push_screen(screen, lambda verdict: None if answered.done() else answered.set_result(verdict))
        try:
            verdict = await answered
        except asyncio.CancelledError:  # the turn stopped (or the app is closing) while it asked
            if self.app.screen is screen:
                screen.dismiss(Verdict.DENY)
            raise
        finally:
            if live is not None:
                live.call_asking(request.call_id, False)
        self._escaped_turn = turn if screen.escaped else None
        return verdict

    def action_toggle_tools(self) -> None:
        session = self.session
        on = not session.tools_on
        try:
            session.set_tools(on)
        except StoreError as error:
            self.notify(f"Used in this window, but not saved: {error}", severity="warning", markup=False)
        self.status.show_tools(session)
        if not session.settings.mcp_servers:
            said = "no MCP server is configured (f5 shows how to add one)"
        elif on and session.tools_off_reason:
            said = session.tools_off_reason
        else:
            said = "the model may call tools from the next turn on" if on else "turns offer the model no tools"
        self.notify(f"Tools {'on' if on else 'off'} in this conversation: {said}.", title="Tools", timeout=3,
                    markup=False)

    def action_stop(self) -> None:
        comparing = self.view.live_compare is not None
        if self.session.stop():
            said = "Stopped every column. What they wrote is kept." if comparing else "Stopped. The partial answer is kept."
            self.notify(said, timeout=2)

    def action_keep_going(self) -> None:
        if self.banner.topic == "loop" and self.session.keep_going():
            self.banner.clear()

    def action_retry(self) -> None:
        session = self.session
        if session.streaming:
            return
        missing, room = self.banner.error, self.banner.room
        if isinstance(missing, ModelNotFound) and session.backend.models is not None:
            self._pull_then_answer(missing.model)
        elif room is not None and room.retry_options():
            self._run(session.retry(**room.retry_options()))
        elif self.banner.topic == "cut" and self._raise_window(self.banner.larger):
            self._run(session.retry())
        elif session.last_prompt() is None:
            self.check_connection()
        else:
            self._run(session.retry())

    def action_edit_last(self) -> None:
        prompt = self.session.last_prompt()
        if prompt is None or self.session.streaming:
            return
        self.editing = True
        self.prompt.set_prompt("")
        exchange = self.session.last_exchange()
        shown = exchange.shown.prompt if exchange is not None else None
        self.prompt.give_back(prompt, attachments_of(shown) if shown is not None else None)  # its files as chips
        self.prompt.focus()
        self.notify("Editing the last prompt: Enter sends it as a new version of the last turn.", timeout=3)

    # --- versions ----------------------------------------------------------------------------

    def action_version(self, step: int) -> None:
        if not self.view.step_version(step):
            self.notify("No turn here has other versions (ctrl+r or f2 makes one).", timeout=3)

    @on(ConversationView.VersionWanted)
    async def _version_wanted(self, event: ConversationView.VersionWanted) -> None:
        """Show it; a finished version also becomes the one sent from now on."""
        try:
            self.session.choose_version(event.exchange, event.index)
        except StoreError as error:
            self.notify(f"Shown, but not kept as the current version: {error}", severity="warning", markup=False)
        await self.view.show_version(event.exchange, event.index)

    # --- models and pulls --------------------------------------------------------------------

    def model_picked(self, model: str | None, *, provider_switched: bool) -> None:
        """The model picker closed: the model chosen for the next answers, or None."""
        if provider_switched:  # the picker switched provider (f4)
            self.check_connection()
        if model:
            self.session.use_model(model)
            self.banner.clear(topic="connection")
            self.notify(f"Next answers come from {model}", timeout=2, markup=False)
        self.status.show(self.session)

    # --- compare: the next prompts go to several models --------------------------------------

    def compare_picked(self, refs: list[ModelRef] | None) -> None:
        """The compare picker closed: the models the next prompts go to, or None (unchanged)."""
        if refs is None:
            return
        self.session.set_compare(refs)
        self.status.show(self.session)
        names = ", ".join(str(ref) for ref in refs)
        self.notify(f"The next prompts go to {names}", title="Comparing", timeout=3, markup=False)

    def stop_comparing(self) -> None:
        self.session.set_compare(None)
        self.status.show(self.session)
        self.notify(f"The next answers come from {self.session.shown_model} alone", timeout=2, markup=False)

    def _choose_keys(self, count: int) -> str:
        """How a reader chooses a column, with the key as bound now."""
        key = self._key_for("choose_column")
        return f"{key} or a click on a column: go on with that model" if key else "A click on a column: go on with that model"

    def _key_for(self, binding_id: str) -> str:
        for active in self.active_bindings.values():
            if active.binding.id == binding_id:
                return self.app.get_key_display(active.binding)
        return ""

    def _cost_of(self, answer: Message) -> float | None:
        return answer_cost(answer, self.session.settings.providers.get(answer.provider or ""))

    def action_choose_column(self) -> None:
        """Offer the columns of the last compare turn, to go on with one's model."""
        widget = self.view.compare_answers()
        if widget is None:
            key = self._key_for("compare")
            self.notify(f"No compare turn here{f': {key} picks models to compare' if key else ''}.", timeout=3)
            return
        choices = [(column.choice(), column.index) for column in widget.columns]
        self.app.pick_column(  # type: ignore[attr-defined]
            choices, lambda index: self.run_worker(self._choose_column(widget, index), group="choose_column", exit_on_error=False)
        )

    @on(CompareColumn.Chosen)
    def _column_clicked(self, event: CompareColumn.Chosen) -> None:
        widget = event.column.parent.parent if event.column.parent is not None else None
        if isinstance(widget, CompareAnswers):
            self.run_worker(self._choose_column(widget, event.column.index), group="choose_column", exit_on_error=False)

    async def _choose_column(self, widget: CompareAnswers, index: int) -> None:
        """Go on with column ``index``'s model; its answer is the one sent in later history."""
        if self.session.streaming:
            self.notify("Still streaming: Esc stops it, then choose a column.", severity="warning", timeout=3)
            return
        exchange = self.view.exchange_of(widget)
        provider = self.session.provider.name
        try:
            chosen = await self.session.choose_column(index, exchange)
        except (StoreError, ConfigError, MissingSetting) as error:
            self.notify(f"Not chosen: {error}", severity="warning", markup=False)
            return
        if not chosen:
            self.notify("That answer did not finish: choose one that did.", severity="warning", timeout=3)
            return
        self.view.column_chosen(widget, index)
        self.status.show(self.session)
        if self.session.provider.name != provider:
            self.check_connection()
        self.notify(f"The conversation goes on with {widget.refs[index]}", timeout=3, markup=False)

    def _pull_then_answer(self, model: str) -> None:
        """The model was missing: pull exactly it, then answer the last prompt (or the box's) again."""

        def pulled() -> None:
            if self.session.streaming:
                return
            self.banner.clear()
            if self.session.last_prompt() is not None:
                self._run(self.session.retry())
            elif self.prompt.prompt_text.strip():
                self.prompt.action_send()

        self.app.pull(model, then=pulled)  # type: ignore[attr-defined]

    # --- conversations -----------------------------------------------------------------------

    async def action_new_chat(self) -> None:
        await self.session.stop_and_wait()
        self._store_draft()
        self.session.new_conversation()
        self._reset()
        await self.view.show(self.session.conversation)
        self._restore_draft()
        self.prompt.focus()

    def _reset(self) -> None:
        self.editing = False
        self.banner.clear()
        self.status.stats = None
        self.status.show(self.session)

    async def open_conversation(
        self, conversation_id: int, *, message_id: int | None = None, in_trace: bool = False, words: tuple[str, ...] = ()
    ) -> None:
        """Go on with a stored conversation, scrolled to ``message_id`` (a search hit) if given,
        the search's ``words`` highlighted in it until something is typed or sent."""
        await self.session.stop_and_wait()
        self._store_draft()
        try:
            conversation = self.session.open_stored(conversation_id)
        except StoreError as error:  # a damaged page: the screen stays on what it shows
            self.banner.show_error(error)
            return
        if conversation is None:
            self.notify("That conversation no longer exists (deleted in another window?)", severity="warning")
            return
        self._reset()
        await self.view.show(conversation, around=message_id)
        self._restore_draft()
        self.prompt.focus()
        self.banner.offer_regenerate(conversation)
        if message_id is not None:
            self._marked_over = self.prompt.text  # the draft just restored is not typing
            self.view.reveal(message_id, in_trace=in_trace, words=words)

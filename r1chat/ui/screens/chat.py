"""The chat screen: the conversation, the prompt, a status bar; turns stream into it live."""

from __future__ import annotations

import asyncio
import contextlib
import importlib

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content as TextContent
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from r1chat.backends import backend_module
from r1chat.backends.base import (
    AuthFailed,
    BackendError,
    Content,
    Done,
    ModelNotFound,
    RateLimited,
    Reasoning,
    Unreachable,
)
from r1chat.conversation import MessageStatus, Role
from r1chat.pulls import PullState
from r1chat.session import ChatSession, MissingSetting, NoModel
from r1chat.store import StoreError
from r1chat.titles import ask_for_title
from r1chat.turn import Turn
from r1chat.ui import collector
from r1chat.ui.widgets.banner import Banner
from r1chat.ui.widgets.conversation import ConversationView
from r1chat.ui.widgets.message import AssistantMessage
from r1chat.ui.widgets.prompt import Prompt
from r1chat.ui.widgets.status_bar import StatusBar
from r1chat.ui.widgets.trace import Trace

SIDE_BY_SIDE_WIDTH = 140


def _hint_for(error: BaseException) -> str:
    if isinstance(error, Unreachable):
        return "ctrl+r retry · F4 change host or provider · your prompt is kept"
    if isinstance(error, ModelNotFound):
        return f"ctrl+r pulls {error.model}, then sends your prompt again · ctrl+o picks another model"
    if isinstance(error, AuthFailed):
        return "Set the key (environment variable or config file), then ctrl+r retry"
    if isinstance(error, RateLimited):
        wait = f" in {error.retry_after:g} s" if error.retry_after else " in a moment"
        return f"ctrl+r retry{wait} · what arrived is kept"
    return "ctrl+r retry · what arrived is kept"


class ChatScreen(Screen):
    CSS_PATH = "chat.tcss"
    AUTO_FOCUS = "Prompt"
    BINDINGS = [
        Binding("escape", "stop", "Stop", id="stop"),
        Binding("ctrl+t", "toggle_trace", "Trace", id="toggle_trace"),
        Binding("ctrl+l", "toggle_layout", "Layout", show=False, id="toggle_layout"),
        Binding("ctrl+n", "new_chat", "New", id="new_chat"),
        Binding("ctrl+r", "retry", "Retry", show=False, id="retry"),  # the banner offers it
        Binding("f2", "edit_last", "Edit", show=False, id="edit_last"),
        Binding("f3", "copy_answer", "Copy", id="copy_answer"),
        Binding("f4", "connect", "Connect", show=False, id="connect"),
        Binding("f8", "keep_going", "Go on", show=False, id="keep_going"),  # the loop banner offers it
        Binding("ctrl+o", "pick_model", "Model", id="pick_model"),
        Binding("ctrl+g", "history", "History", id="history"),
        # ctrl+s: free in the prompt's TextArea (f5-f7 select there) and not captured by terminals
        # (Textual turns XON/XOFF off); shown in the palette and F1, the footer is full at 80 columns.
        Binding("ctrl+s", "app.settings", "Settings", show=False, id="settings"),
    ]

    def __init__(self, session: ChatSession, *, reopen: int | None = None) -> None:
        super().__init__()
        self.session = session
        self.reopen = reopen  # a conversation to show at once (one whose turn a crash cut off)
        # The banner offers to regenerate an interrupted last answer; a good connection keeps it.
        self.offering_regenerate = False
        self.layout_choice = session.settings.ui.trace_layout
        self.turn_worker: Worker | None = None
        self.turn: Turn | None = None  # the latest turn
        self.editing_last = False
        self.last_error: BaseException | None = None
        self.loop_banner = False  # the banner says the streaming answer is looping

    def compose(self) -> ComposeResult:
        view = ConversationView(id="conversation")
        view.collapse = self.session.settings.ui.trace_collapse
        view.empty_hint = TextContent.assemble(
            ("r1chat", "bold"),
            "\nA new conversation. Type a prompt below and press Enter.\n",
            ("Ctrl+P: all commands · F1: keys · Ctrl+Q: quit", "$foreground-muted"),
        )
        yield view
        yield Banner(id="banner")
        yield Prompt(id="prompt")
        yield StatusBar(id="status")
        yield Footer()

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
        self.app.pulls.on_change(self._pulls_changed)
        self.banner.clear()
        self._show_session()
        self._apply_layout()
        if self.reopen is not None:
            await self.open_conversation(self.reopen)
        elif self.session.conversation.messages:
            await self.view.show(self.session.conversation)
        # After the first frame: the check builds the backend, whose imports take a while.
        self.call_after_refresh(self.check_connection)

    def _show_session(self) -> None:
        status = self.status
        status.provider = self.session.provider.name
        status.model = self.session.chosen_model or self.session.model or self.session.conversation.model or ""
        status.url = self.session.url
        status.preset = self.session.preset or ""
        status.effort = self.session.effort or ""
        self.check_effort()

    # --- layout ------------------------------------------------------------------------------

    def _side(self) -> bool:
        if self.layout_choice == "auto":
            return self.size.width >= SIDE_BY_SIDE_WIDTH
        return self.layout_choice == "side"

    def _apply_layout(self) -> None:
        self.set_class(self._side(), "-side")

    def on_resize(self, event: Resize) -> None:
        self._apply_layout()

    def action_toggle_layout(self) -> None:
        self.layout_choice = "inline" if self._side() else "side"
        self._apply_layout()
        self.notify(f"Traces {'beside' if self._side() else 'above'} their answers", timeout=2)

    # --- traces ------------------------------------------------------------------------------

    def action_toggle_trace(self) -> None:
        traces = self.query(Trace)
        if not traces:
            self.notify("No reasoning trace yet", timeout=2)
            return
        trace = traces.last()
        trace.touched_by_user = True
        trace.collapsed = not trace.collapsed

    def set_all_traces(self, collapsed: bool) -> None:
        for trace in self.query(Trace):
            trace.touched_by_user = True
            trace.collapsed = collapsed

    # --- connection --------------------------------------------------------------------------

    @work(group="connection", exclusive=True, exit_on_error=False)
    async def check_connection(self) -> None:
        status = self.status
        status.connection = "connecting"
        status.url = self.session.url
        # Imported off the event loop, so keys typed meanwhile are not held up.
        await asyncio.to_thread(importlib.import_module, backend_module(self.session.provider))
        try:
            models = await self.session.backend.list_models()
        except BackendError as error:
            # Only a server that did not answer is "unreachable"; a refused key is a reply.
            status.connection = "unreachable" if isinstance(error, Unreachable) else "connected"
            self.banner.show_problem(str(error), _hint_for(error))
            return
        status.connection = "connected"
        chosen = self.session.chosen_model
        names = {m.name for m in models} | {m.name.removesuffix(":latest") for m in models}
        if chosen and models and chosen not in names:
            self.last_error = ModelNotFound(chosen)
            self.banner.show_problem(
                f"Model '{chosen}' is not on {self.session.backend.url}.",
                _hint_for(ModelNotFound(chosen)),
                severity="warning",
            )
            return
        if (self.last_error is None and not self.offering_regenerate) or isinstance(self.last_error, Unreachable):
            self.banner.clear()
        try:
            status.model = await self.session.resolve_model()
        except (BackendError, NoModel) as error:
            self.banner.show_problem(str(error), "Pull a model with: r1chat pull deepseek-r1:8b", severity="warning")

    def action_connect(self) -> None:
        from r1chat.ui.screens.connect import ConnectScreen

        self.app.push_screen(ConnectScreen(self.session), self._connected)

    async def _connected(self, choice: tuple[str, str] | None) -> None:
        if choice is None:
            return
        name, url = choice
        provider = self.session.settings.provider_config(name)
        if url:
            provider.url = url
        try:
            await self.session.switch_provider(provider)
        except MissingSetting as error:
            self.banner.show_problem(str(error), "F4 to try another provider")
            return
        self._show_session()
        self.check_connection()

    # --- history -----------------------------------------------------------------------------

    def action_history(self) -> None:
        from r1chat.ui.screens.history import HistoryScreen

        screen = HistoryScreen(self.session.store, current=self.session.conversation.id)
        self.app.push_screen(screen, lambda opened: self._from_history(screen, opened))

    async def _from_history(self, screen, opened) -> None:
        current = self.session.conversation
        if opened is not None:
            await self.open_conversation(opened.conversation_id, message_id=opened.message_id, in_trace=opened.in_trace)
        elif current.id is not None and current.id in screen.deleted:
            await self.action_new_chat()  # the conversation on screen is gone
            self.notify("The conversation you were in was deleted: this is a new one.", timeout=4)
        elif current.id in screen.renamed:
            current.title = screen.renamed[current.id]

    def export_conversation(self) -> None:
        from r1chat.ui.screens.history import ExportScreen

        conversation = self.session.conversation
        if not conversation.messages:
            self.notify("Nothing to export yet: this conversation is empty.", severity="warning", timeout=3)
            return
        self.app.push_screen(ExportScreen(conversation))

    # --- models ------------------------------------------------------------------------------

    def action_pick_model(self) -> None:
        from r1chat.ui.screens.model_picker import ModelPicker

        provider = self.session.provider.name
        self.app.push_screen(ModelPicker(self.session), lambda result: self._picked(result, provider))

    def _picked(self, result, provider_before: str) -> None:
        from r1chat.ui.screens.model_picker import MODEL, PULL

        # The picker may have switched provider, whatever else it returns.
        self._show_session()
        if self.session.provider.name != provider_before:
            self.check_connection()
        if result is None:
            return
        if result.action == MODEL and result.value:
            self.session.use_model(result.value)
            self.status.model = result.value
            self.check_effort()
            self.banner.clear()
            self.notify(f"Next answers come from {result.value}", timeout=2, markup=False)
        elif result.action == PULL:
            self.open_pull(result.value)

    def open_pull(self, model: str | None, *, start: bool = False) -> None:
        from r1chat.ui.screens.pull import PullScreen

        if self.session.provider.kind != "ollama":
            self.notify(f"Pulling is an Ollama feature; {self.session.provider.name} serves its own models.",
                        severity="warning", markup=False)
            return
        self.app.push_screen(PullScreen(self.app.pulls, self.session.backend, model, start=start))

    def _pulls_changed(self, pull) -> None:
        active = self.app.pulls.active()
        self.status.extra = " · ".join(p.summary() for p in active)

    def _pull_then_resend(self, model: str, prompt: str) -> None:
        """The model was missing: pull exactly it, and once it is there, send the prompt again."""
        def finished(pull) -> None:
            if pull.model != model:
                return
            unsubscribe()
            if pull.state is PullState.DONE:
                self.last_error = None
                self.banner.clear()
            if pull.state is PullState.DONE and prompt.strip() and not self.streaming:
                self.run_worker(self._drop_and_send(prompt), exit_on_error=False)

        unsubscribe = self.app.pulls.on_finish(finished)
        self.open_pull(model, start=True)

    # --- sending -----------------------------------------------------------------------------

    @property
    def streaming(self) -> bool:
        return self.turn_worker is not None and self.turn_worker.state in (WorkerState.PENDING, WorkerState.RUNNING)

    @on(Prompt.Submitted)
    async def _submitted(self, event: Prompt.Submitted) -> None:
        if self.streaming:
            self.notify("An answer is still streaming: Esc stops it. Your prompt is kept.", severity="warning")
            return
        event.prompt.remember(event.text)
        event.prompt.clear()
        if self.editing_last:
            self.editing_last = False
            await self._drop_last_turn()
        self.send(event.text)

    def send(self, text: str) -> None:
        self.turn_worker = self.run_worker(self._run_turn(text), group="turn", exclusive=True, exit_on_error=False)

    async def _run_turn(self, text: str) -> None:
        session, status = self.session, self.status
        self.banner.clear()
        self.offering_regenerate = False
        self.last_error = None
        try:
            turn = self.turn = await session.turn(text)
        except (BackendError, NoModel) as error:
            self.last_error = error
            self._give_back(text)
            self.banner.show_problem(str(error), _hint_for(error))
            if isinstance(error, Unreachable):
                status.connection = "unreachable"
            return
        status.model = turn.model
        status.connection = "streaming"
        view = self.view
        await view.add(turn.user)
        answer: AssistantMessage = await view.add(turn.assistant)
        view.scroll_end(animate=False)
        collector.turn_started()
        loop = asyncio.get_running_loop()
        last_yield = loop.time()
        stats = None
        try:
            # aclosing: a stop (Esc, the loop guard) can land here rather than inside the turn's
            # stream; the turn must still record the interruption before the answer settles.
            async with contextlib.aclosing(turn.stream()) as events:
                async for event in events:
                    if isinstance(event, Reasoning):
                        await answer.add_reasoning(event.text)
                    elif isinstance(event, Content):
                        await answer.add_content(event.text)
                    elif isinstance(event, Done):
                        stats = event.stats
                    # Buffered lines arrive without a wait: give keys and frames a turn every
                    # 10 ms (a yield per token would spend the time on the loop, not the text).
                    if (now := loop.time()) - last_yield > 0.01:
                        last_yield = now
                        await asyncio.sleep(0)
        except BackendError as error:
            self.last_error = error
            self.banner.show_problem(str(error), _hint_for(error))
        except StoreError as error:
            self.last_error = error
            self.banner.show_problem(str(error), "Answers cannot be saved until this is fixed")
        finally:
            # Also on Esc (cancellation): the partial answer stays on screen, settled.
            try:
                await asyncio.shield(answer.finish(turn.assistant))
            finally:
                self.set_timer(0.2, collector.turn_ended)  # once the answer is on screen
            if stats is not None:  # with the finished answer, not ahead of its last words
                status.stats = stats
            status.connection = "unreachable" if isinstance(self.last_error, Unreachable) else "connected"
            if self.loop_banner and self.last_error is None and answer.stopped_for is None:
                self.banner.clear()  # the turn is over: a warning about it has nothing left to offer
            self.loop_banner = False
        if session.settings.ui.titles == "model" and turn.assistant.status is MessageStatus.DONE:
            if len(turn.conversation.messages) == 2:  # the first answer: the conversation has a subject
                self.run_worker(self._title_by_model(turn), group="title", exit_on_error=False)

    async def _title_by_model(self, turn: Turn) -> None:
        conversation = turn.conversation
        title = await ask_for_title(self.session.backend, turn.model, turn.user.content)
        if title is None or conversation.id is None:
            return
        try:
            replaced = self.session.store.replace_title(conversation.id, conversation.title, title)
        except StoreError:
            return  # the prompt's title stays; the store's own trouble shows on the next turn
        if replaced:
            conversation.title = title

    def _give_back(self, text: str) -> None:
        """A prompt that could not be sent goes back into the editor, unless the user typed anew."""
        if not self.prompt.text.strip():
            self.prompt.set_prompt(text)
            self.prompt.move_cursor(self.prompt.document.end)

    def action_stop(self) -> None:
        if self.streaming:
            self.turn_worker.cancel()
            self.notify("Stopped. The partial answer is kept.", timeout=2)

    # --- the last turn -----------------------------------------------------------------------

    def _last_prompt(self) -> str | None:
        for message in reversed(self.session.conversation.messages):
            if message.role.value == "user":
                return message.content
        return None

    async def _drop_last_turn(self) -> None:
        conversation = self.session.conversation
        ids = []
        while conversation.messages:
            message = conversation.messages.pop()
            if message.id is not None:
                ids.append(message.id)
            if message.role.value == "user":
                break
        self.session.store.delete_messages(ids)
        await self.view.drop_last_turn()

    async def action_retry(self) -> None:
        if self.streaming:
            return
        if isinstance(self.last_error, ModelNotFound) and self.session.provider.kind == "ollama":
            prompt = self._last_prompt() or self.prompt.prompt_text
            self._pull_then_resend(self.last_error.model, prompt)
            return
        if self.status.connection == "unreachable" and not self.session.conversation.messages:
            self.check_connection()
            return
        prompt = self._last_prompt()
        if prompt is None:
            self.check_connection()
            return
        await self._drop_and_send(prompt)

    async def _drop_and_send(self, prompt: str) -> None:
        if self._last_prompt() == prompt:
            await self._drop_last_turn()
        if self.prompt.prompt_text == prompt:
            self.prompt.clear()
        self.send(prompt)

    def action_edit_last(self) -> None:
        prompt = self._last_prompt()
        if prompt is None or self.streaming:
            return
        self.editing_last = True
        self.prompt.set_prompt(prompt)
        self.prompt.move_cursor(self.prompt.document.end)
        self.prompt.focus()
        self.notify("Editing the last prompt: Enter sends it in place of the last turn.", timeout=3)

    def _last_answer(self) -> AssistantMessage | None:
        return self.view.latest_assistant()

    def action_copy_answer(self) -> None:
        self._copy("answer", lambda m: m.message.content or m.answer_text)

    def copy_trace(self) -> None:
        self._copy("trace", lambda m: m.message.reasoning)

    def copy_final_answer(self) -> None:
        from r1chat.latex import final_answer

        self._copy("final answer", lambda m: final_answer(m.message.content or m.answer_text))

    def use_preset(self, name: str | None) -> None:
        """Add a prompt preset's directive to every prompt of this conversation (None: no preset)."""
        self._keep_for_conversation(self.session.use_preset, name)
        self.status.preset = name or ""
        if name is None:
            self.notify("Prompts are sent as typed", timeout=2)
        else:
            directive = self.session.presets().get(name, "")
            self.notify(f"Each prompt ends with: {directive}", title=f"Preset {name}", timeout=3, markup=False)

    def _keep_for_conversation(self, use, value: str | None) -> None:
        try:
            use(value)
        except StoreError as error:
            self.notify(f"Used in this window, but not saved: {error}", severity="warning", markup=False)

    @work(group="effort", exclusive=True, exit_on_error=False)
    async def choose_effort(self) -> None:
        """Offer the thinking levels the server takes for the model, or say why there are none."""
        from r1chat.ui.screens.effort import EffortPalette

        try:
            support = await self.session.effort_levels()
        except (BackendError, NoModel) as error:
            self.notify(str(error), title="Thinking effort", severity="warning", markup=False)
            return
        if not support.levels:
            self.notify(support.why_not, title="Thinking effort", severity="warning", timeout=8, markup=False)
            return
        self.app.push_screen(EffortPalette(support.levels, self.session.effort, self.use_effort))

    def use_effort(self, level: str | None) -> None:
        self._keep_for_conversation(self.session.use_effort, level)
        self.status.effort, self.status.effort_sent = level or "", True
        said = f"Thinking effort {level} from the next answer on" if level else "Thinking effort left to the server"
        self.notify(said, timeout=2, markup=False)

    @work(group="effort_check", exclusive=True, exit_on_error=False)
    async def check_effort(self) -> None:
        """Dim the conversation's level in the status bar where it is not sent (another model or
        server than the one it was chosen on would reject it)."""
        level = self.session.effort
        if level is None:
            self.status.effort_sent = True
            return
        try:
            support = await self.session.effort_levels()
        except (BackendError, NoModel):
            return  # the connection check says what is wrong
        if level == self.session.effort:
            self.status.effort_sent = level in support.levels

    def toggle_hidden_traces(self) -> None:
        hide = not self.has_class("-hide-traces")
        self.set_class(hide, "-hide-traces")
        self.notify("Traces hidden: answers only" if hide else "Traces shown", timeout=2)

    # --- loops -------------------------------------------------------------------------------

    @on(AssistantMessage.Looping)
    def _looping(self, event: AssistantMessage.Looping) -> None:
        answer, loop = event.answer, event.loop
        guard = self.session.settings.ui.loop_guard
        if guard == "off" or answer.loop_dismissed or answer.stopped_for or not answer.streaming or not self.streaming:
            return
        if guard == "stop":
            answer.stopped_for = f"stopped: the {event.where} repeated {loop.describe()}"
            self.turn_worker.cancel()
            self.banner.show_problem(
                f"Stopped: the {event.where} repeated {loop.describe()}. What arrived is kept.",
                "ctrl+r sends the prompt again (a higher temperature often breaks the loop)", severity="warning")
        else:
            self.banner.show_problem(
                f"The {event.where} is going round in circles: {loop.describe()}.",
                "Esc stops it · F8 lets it go on", severity="warning")
        self.loop_banner = True

    def action_keep_going(self) -> None:
        answer = self._last_answer()
        if self.loop_banner and answer is not None:
            answer.loop_dismissed = True
            self.loop_banner = False
            self.banner.clear()

    def copy_code(self) -> None:
        from r1chat.markdown_parts import last_code_block

        self._copy("code block", lambda m: last_code_block(m.message.content))

    def _copy(self, what: str, pick) -> None:
        answer = self._last_answer()
        text = pick(answer) if answer is not None else None
        if not text:
            self.notify(f"No {what} to copy", severity="warning", timeout=2)
            return
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied the {what} ({len(text)} characters)", timeout=2)

    async def _stop_streaming(self, reason: str | None = None) -> None:
        """Stop a streaming answer (it is saved as interrupted, with ``reason`` if given) and wait
        until it has settled."""
        worker = self.turn_worker
        if worker is not None and self.streaming:
            if reason is not None and self.turn is not None:
                self.turn.stop_reason = reason
            worker.cancel()
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()

    async def action_new_chat(self) -> None:
        await self._stop_streaming()
        self.session.new_conversation()
        self._reset()
        await self.view.show(self.session.conversation)
        self.prompt.focus()

    def _reset(self) -> None:
        self.editing_last = False
        self.last_error = None
        self.offering_regenerate = False
        self.banner.clear()
        self.status.stats = None
        self._show_session()

    async def open_conversation(
        self, conversation_id: int, *, message_id: int | None = None, in_trace: bool = False
    ) -> None:
        """Show a stored conversation and go on with it; ``message_id`` is scrolled to (its trace
        unfolded when ``in_trace``)."""
        conversation = self.session.store.load_conversation(conversation_id)
        if conversation is None:
            self.notify("That conversation no longer exists (deleted in another window?)", severity="warning")
            return
        await self._stop_streaming()
        self.session.open_conversation(conversation)
        self._reset()
        view = self.view
        await view.show(conversation, around=message_id)
        self.prompt.focus()
        last = conversation.messages[-1] if conversation.messages else None
        if last is not None and last.role is Role.ASSISTANT and last.status is not MessageStatus.DONE:
            what = "was interrupted" if last.status is MessageStatus.INTERRUPTED else "failed"
            self.banner.show_problem(
                f"The last answer {what}; what had arrived is kept.", "ctrl+r regenerates it", severity="warning"
            )
            self.offering_regenerate = True
        widget = view.widget_of(message_id) if message_id is not None else None
        if widget is None:
            return
        if in_trace and isinstance(widget, AssistantMessage) and widget.trace is not None:
            widget.trace.touched_by_user = True
            widget.trace.collapsed = False
        widget.add_class("-found")
        self.set_timer(3, lambda: widget.remove_class("-found"))
        self.call_after_refresh(view.scroll_to_widget, widget, animate=False, top=True)

    # --- links -------------------------------------------------------------------------------

    def open_link(self) -> None:
        """Links are never followed by themselves: this lists the last answer's, to open one."""
        from r1chat.markdown_parts import links
        from r1chat.ui.screens.links import LinkPicker

        answer = self._last_answer()
        found = links(answer.message.content or answer.answer_text) if answer is not None else []
        if not found:
            self.notify("The last answer has no links", timeout=2)
            return
        self.app.push_screen(LinkPicker(found), self._open_url)

    def _open_url(self, url: str | None) -> None:
        if url:
            self.app.open_url(url)

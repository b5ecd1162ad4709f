"""ChatSession: the conversation engine, for the chat screen and ``r1chat ask`` alike.

It decides; a front end shows. A front end sends intents (``send``, ``retry``, ``edit_last``,
``stop``, ``keep_going``, ``choose_version``, the model, preset and effort to use) and renders
the events the session emits to its subscribers, in order:

* ``TurnStarted`` once the prompt and an empty answer are stored;
* the turn's ``Reasoning`` and ``Content`` pieces, and ``LoopNoticed`` from the loop guard;
* ``TurnEnded`` with the finished answer, the error if it failed, and whether it became current;
* ``TitleChanged`` when a title written by the model arrives (``[ui] titles = "model"``);
* ``ConversationReloaded`` before a turn, when another window changed the conversation.
* ``SavingChanged`` when answers stop being saved (a full disk) and when they are saved again.
* tools: ``ToolCallStarted`` and ``ToolCallEnded`` around each call of a turn, ``ToolNote`` for a
  line about them (a late server, the step limit), ``ToolsUnavailable`` when the model cannot call
  tools (also kept in ``tools_off_reason``), ``ToolsChanged`` when a server's state or tools change.

Tools: ``session.tools`` is the ``ToolHub`` of the configured MCP servers, started on the first
turn that may use them; ``tools_on`` (per conversation, ``set_tools``) says whether turns offer
them; ``approver`` is how the front end asks the user before a call (None: only servers trusted
``always`` run, other calls are denied and the model told so).

An answer that cannot be saved is kept in memory and written whole by the next save that works;
``save_unsaved`` tries once more at exit and returns the turns still not stored, for a recovery
file (``r1chat.recovery``).

A listener may be a coroutine function: the session awaits it before going on, so a front end
that draws each piece keeps pace with the stream instead of queueing it.

Retry and edit add a version to the last exchange and delete nothing; the new version becomes
current once it finishes ``done``, else the previous one stays current.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from r1chat import presets
from r1chat.backends import MissingSetting, backend_url, check_provider, open_backend
from r1chat.backends.base import (
    Backend,
    BackendError,
    Capabilities,
    ChatOptions,
    Content,
    Done,
    EffortLevels,
    ModelInfo,
    ModelNotFound,
    Reasoning,
    Support,
    Unreachable,
)
from r1chat.compare_events import CompareEnded, CompareEvent
from r1chat.config import ProviderConfig, Settings
from r1chat.conversation import (
    USER_STOPPED,
    Conversation,
    Exchange,
    Message,
    MessageStatus,
    Role,
    build_history,
)
from r1chat.refs import ModelRef
from r1chat.store import Store, StoreError
from r1chat.titles import ask_for_title
from r1chat.tools import Approver, ToolHub
from r1chat.tools.events import ToolCallEnded, ToolCallStarted, ToolNote, ToolsChanged, ToolsUnavailable
from r1chat.tools.runner import ToolRunner
from r1chat.tools.session_tools import SessionTools
from r1chat.turn import LoopGuard, LoopNoticed, Turn
from r1chat.window import Fit, OutOfRoom, estimate_tokens, out_of_room

if TYPE_CHECKING:
    from r1chat.compare import CompareTurn


class NoModel(Exception):
    """The server has no model to talk to."""


class Busy(Exception):
    """A turn is still streaming; a front end says so and keeps the user's prompt."""


# --- events --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TurnStarted:
    """The prompt and an empty answer are stored. ``turn.user`` is the prompt (a stored one
    when retried), ``turn.assistant`` the answer that is about to stream."""

    turn: Turn

    @property
    def new_exchange(self) -> bool:
        return self.turn.new_exchange


@dataclass(frozen=True, slots=True)
class TurnEnded:
    """The answer finished (``turn.assistant.status``: done, interrupted or error). ``error`` is
    what went wrong, for a person; ``current``: the answer is now the one shown and sent."""

    turn: Turn
    error: BackendError | StoreError | None
    current: bool


@dataclass(frozen=True, slots=True)
class TitleChanged:
    conversation: Conversation
    title: str


@dataclass(frozen=True, slots=True)
class ConversationReloaded:
    """Another window changed this conversation (a turn, a version chosen): it was read again
    from the store before the next turn, and ``conversation`` is now the session's."""

    conversation: Conversation


@dataclass(frozen=True, slots=True)
class SavingChanged:
    """Answers stopped being saved (``error`` says why: a full disk, a read-only file) or are
    saved again (``error`` None). Meanwhile they are kept in memory."""

    error: StoreError | None

    def describe(self) -> str:
        """In a few words, for a banner: SQLite's own reason ("database or disk is full")."""
        if self.error is None:
            return "Answers are saved again."
        why = self.error.__cause__ or self.error
        return f"Answers are not being saved: {str(why).rstrip('.')}."


# What a front end says while saving fails.
NOT_SAVED_HINT = "Kept in memory and written when there is room again; quitting before that puts them in a recovery file"

SessionEvent = (
    TurnStarted | Reasoning | Content | LoopNoticed | TurnEnded | TitleChanged | ConversationReloaded | SavingChanged
    | ToolCallStarted | ToolCallEnded | ToolNote | ToolsUnavailable | ToolsChanged
    | CompareEvent
)
Listener = Callable[[SessionEvent], Awaitable[None] | None]
# A request option given for one turn (ChatOptions' fields: temperature, num_ctx, think, truncate...).
Override = float | int | str | bool | None


@dataclass(frozen=True, slots=True)
class Connection:
    """What a check of the session's server found: whether it answered (a refused key is an
    answer), the model the next turn would use, or the problem to show."""

    reached: bool
    model: str | None = None
    error: BackendError | NoModel | None = None
    # The model asked for is not on the server (the error says so).
    missing: bool = False


# Buffered stream lines arrive without a wait: every this many seconds the session lets other
# tasks run (keys, frames); a yield per piece would spend the time on the loop, not the text.
FAIR_SHARE = 0.01
# How much of the last prompt a summary line carries into a new conversation.
SUMMARY_PROMPT = 300


class ChatSession:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        provider: ProviderConfig,
        *,
        model: str | None = None,
        conversation: Conversation | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.provider = provider
        self.conversation = conversation or Conversation()
        self.chosen_model = model
        self.model: str | None = None
        check_provider(provider)  # MissingSetting now, not at the first turn
        self._backend: Backend | None = None
        self._listeners: tuple[Listener, ...] = ()
        self.turn: Turn | None = None  # the latest turn
        self._task: asyncio.Task[object] | None = None  # the task running a turn, while it runs
        self._stopping = False
        self._ended = asyncio.Event()
        self._titles: set[asyncio.Task[None]] = set()
        self.save_error: StoreError | None = None  # why answers are not being saved, if they are not
        self._unsaved: list[Turn] = []  # ended turns whose answer is not stored yet
        # Tools: how the front end asks before a call; whether a conversation that never chose
        # offers them (the TUI: yes; `r1chat ask`: only with --tools); why the model goes without.
        self.approver: Approver | None = None
        self.tools_default = True
        self._tool_side = SessionTools(settings, self._emit)
        # Compare (r1chat/compare.py): the models the next prompts go to, the compare turn running,
        # and the backends of providers other than the session's that its columns use.
        self._compare_refs: tuple[ModelRef, ...] | None = None
        self.compare_turn: CompareTurn | None = None
        self._other_backends: dict[str, Backend] = {}

    # --- subscribers -------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Hear every event from now on; returns the way to stop hearing them."""
        self._listeners = (*self._listeners, listener)

        def unsubscribe() -> None:
            self._listeners = tuple(known for known in self._listeners if known is not listener)

        return unsubscribe

    async def _emit(self, event: SessionEvent) -> None:
        # Once a piece, thousands a second: no copy, no inspection (a listener returns None or
        # something to await).
        for listener in self._listeners:
            result = listener(event)
            if result is not None:
                await result

    # --- the backend -------------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        """Built on first use: its HTTP client and imports (about a tenth of a second) need not
        hold up the first frame of the chat screen."""
        if self._backend is None:
            self._backend = open_backend(self.provider, self.settings)
        return self._backend

    @property
    def url(self) -> str:
        return backend_url(self.provider)

    async def aclose(self) -> None:
        for task in self._titles:
            task.cancel()
        await self._tool_side.aclose()
        if self._backend is not None:
            await self._backend.aclose()
        for backend in self._other_backends.values():
            await backend.aclose()
        self._other_backends.clear()

    def backend_for(self, provider: str) -> Backend:
        """The backend of a provider by name: the session's own, or one opened for compare columns
        (kept until the session closes). Raises ConfigError, MissingSetting."""
        if provider == self.provider.name:
            return self.backend
        if provider not in self._other_backends:
            self._other_backends[provider] = open_backend(self.settings.provider_config(provider), self.settings)
        return self._other_backends[provider]

    # --- tools -------------------------------------------------------------------------------

    @property
    def tools(self) -> ToolHub:
        """The configured MCP servers and their tools (nothing starts until a turn needs them)."""
        return self._tool_side.hub

    @property
    def tools_off_reason(self) -> str | None:
        """Why turns go without tools for the current model ("tools off: <model> cannot call tools")."""
        return self._tool_side.off_reason

    @tools_off_reason.setter
    def tools_off_reason(self, reason: str | None) -> None:
        self._tool_side.off_reason = reason

    @property
    def tools_on(self) -> bool:
        """Whether this conversation's turns offer tools (when servers are configured)."""
        return bool(self.conversation.settings.get("tools", self.tools_default))

    def set_tools(self, on: bool) -> None:
        """Offer tools in this conversation from the next turn on, or not; stored with it.
        Raises StoreError if it cannot be stored."""
        self._keep("tools", on)

    def _approved_tools(self) -> set[str]:
        return set(self.conversation.settings.get("approved_tools", []))

    def _remember_approved(self, key: str) -> None:
        known = self.conversation.settings.setdefault("approved_tools", [])
        if key not in known:
            known.append(key)
        with contextlib.suppress(StoreError):  # allowed for this turn at least
            if self.conversation.id is not None:
                self.store.update_conversation(self.conversation)

    async def _tool_runner(self, model: str) -> ToolRunner | None:
        """The tools of the next turn, or None (tools off in this conversation, none configured,
        the model cannot call them)."""
        if not self.tools_on:
            return None
        return await self._tool_side.runner(
            self.backend,
            model,
            approver=self.approver,
            approved=self._approved_tools(),
            remember=self._remember_approved,
            stop=self.stop,
        )

    async def switch_provider(self, provider: ProviderConfig, model: str | None = None) -> None:
        """Talk to another provider (or another host of the same one) from the next turn on."""
        backend = open_backend(provider, self.settings)  # raises MissingSetting before any change
        if self._backend is not None:
            await self._backend.aclose()
        self._backend, self.provider = backend, provider
        self.chosen_model, self.model = model, None
        self.tools_off_reason = None  # said of the old model; the next turn finds out anew

    async def capabilities(self) -> Capabilities:
        """What the next turn's backend and model can do."""
        return await self.backend.capabilities(await self.resolve_model())

    async def effort_levels(self) -> EffortLevels:
        """The thinking levels the next turn's backend and model take."""
        return (await self.capabilities()).effort

    async def check(self) -> Connection:
        """Ask the server for its models: is it there, is the chosen model on it, which model
        would the next turn use."""
        try:
            models = await self.backend.list_models()
        except BackendError as error:
            return Connection(reached=not isinstance(error, Unreachable), error=error)
        chosen = self.chosen_model
        names = {m.name for m in models} | {m.name.removesuffix(":latest") for m in models}
        if chosen and models and chosen not in names:
            hint = None if self.backend.models is not None else "Run 'r1chat models' to see the names this server offers."
            return Connection(reached=True, error=ModelNotFound(chosen, self.backend.url, hint=hint), missing=True)
        try:
            if self.model is None:  # from the list just read: asking the server again is a round trip
                self.model = self.preferred_model() or self._best_of(models)
        except NoModel as error:
            return Connection(reached=True, error=error)
        return Connection(reached=True, model=self.model)

    async def effort_sent(self) -> bool | None:
        """Whether the conversation's thinking level goes out with the next turn (a level the
        server or model would reject is not sent); None when the server cannot say now."""
        level = self.effort
        if level is None:
            return True
        try:
            levels = (await self.effort_levels()).levels
        except (BackendError, NoModel):
            return None
        return level in levels

    # --- which model and conversation --------------------------------------------------------

    def use_model(self, model: str) -> None:
        """Switch the conversation to ``model`` from the next turn on (earlier messages keep theirs)."""
        self.chosen_model = self.model = model
        self.tools_off_reason = None  # said of the old model; the next turn finds out anew

    @property
    def shown_model(self) -> str:
        """The model to name before any turn has resolved one."""
        return self.chosen_model or self.model or self.conversation.model or ""

    def new_conversation(self) -> None:
        self.conversation = Conversation()
        self.turn = None

    def open_conversation(self, conversation: Conversation) -> None:
        """Go on with a stored conversation, on the model that wrote it when it was this provider's."""
        self.conversation = conversation
        self.turn = None
        if conversation.provider == self.provider.name and conversation.model:
            self.chosen_model, self.model = None, None

    def open_stored(self, conversation_id: int) -> Conversation | None:
        """Load and go on with a stored conversation; None when it is gone."""
        conversation = self.store.load_conversation(conversation_id)
        if conversation is not None:
            self.open_conversation(conversation)
        return conversation

    async def _catch_up(self) -> None:
        """Two windows on one conversation: before a turn, read the conversation again if the
        store holds more than this session has seen (the other window's turns), so the history
        sent has them; the front ends redraw from ConversationReloaded. Costs one indexed query
        when nothing changed."""
        conversation = self.conversation
        if conversation.id is None or self._task is not None:
            return
        if self.store.conversation_mark(conversation.id) == self._mark_of_memory():
            return
        fresh = self.store.load_conversation(conversation.id)
        if fresh is None:
            raise StoreError("This conversation was deleted in another window; ctrl+n starts a new one. Your prompt is kept.")
        self.conversation = fresh  # the model chosen in this window stays chosen
        await self._emit(ConversationReloaded(fresh))

    def _mark_of_memory(self) -> tuple[object, ...]:
        """The mark of the conversation as this session holds it, counted as
        ``Store.conversation_mark`` counts: every write of the session's own keeps the two equal."""
        messages = [m for m in self.conversation.messages if m.id is not None]
        if not messages:
            return (0, None, 0.0, 0.0)
        return (
            len(messages),
            max(m.id for m in messages if m.id is not None),
            float(sum(m.id for m in messages if m.current and m.id is not None)),
            float(sum(m.status is MessageStatus.STREAMING for m in messages)),
        )

    def preferred_model(self) -> str | None:
        """The model the next turn uses, as far as it is known without asking the server: chosen >
        this conversation's (on this provider) > configured > the provider's default."""
        conversation = self.conversation
        return (
            self.chosen_model
            or self.model
            or (conversation.model if conversation.provider == self.provider.name else None)
            # The top-level `model` setting belongs to the default provider.
            or (self.settings.model if self.provider.name == self.settings.provider else None)
            or self.provider.model
        )

    async def resolve_model(self) -> str:
        """The model for the next turn: the preferred one, else the best local one."""
        if self.model is None:
            self.model = self.preferred_model() or await self._best_local_model()
        return self.model

    async def _best_local_model(self) -> str:
        return self._best_of(await self.backend.list_models())

    def _best_of(self, models: list[ModelInfo]) -> str:
        """The model to use when none was chosen: a loaded R1, an R1, a thinking model, any."""
        if not models:
            raise NoModel(
                f"No models on {self.backend.url}. Pull one first, for example: r1chat pull deepseek-r1:8b"
            )
        preferences: tuple[Callable[[ModelInfo], bool], ...] = (
            lambda m: m.loaded and "deepseek-r1" in m.name,
            lambda m: "deepseek-r1" in m.name,
            lambda m: bool(m.thinking),
            lambda m: True,
        )
        for preference in preferences:
            for model in models:
                if preference(model):
                    return model.name
        raise AssertionError("unreachable")

    # --- this conversation's own choices -------------------------------------------------------

    @property
    def preset(self) -> str | None:
        """The prompt preset (r1chat/presets.py) added to each prompt of this conversation."""
        return self.conversation.settings.get("preset")

    @property
    def effort(self) -> str | None:
        """The thinking level asked for in this conversation; sent only where the server takes it."""
        return self.conversation.settings.get("effort")

    def use_preset(self, name: str | None) -> None:
        self._keep("preset", name)

    def use_effort(self, level: str | None) -> None:
        self._keep("effort", level)

    def _keep(self, key: str, value: str | int | None) -> None:
        """Set (None: drop) one of the conversation's settings, stored now if the conversation
        is, else with it from its first answer. Raises StoreError if it cannot be stored."""
        settings = self.conversation.settings
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
        if self.conversation.id is not None:
            self.store.update_conversation(self.conversation)

    def options(self, **overrides: Override) -> ChatOptions:
        settings, local = self.settings, self.conversation.settings
        values = {
            "temperature": local.get("temperature", settings.temperature),
            "top_p": local.get("top_p", settings.top_p),
            "num_ctx": local.get("num_ctx", settings.num_ctx),
            "keep_alive": settings.keep_alive,
            "think": local.get("effort"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return ChatOptions(**values)

    def system_prompt(self) -> str:
        prompt: str = self.conversation.settings.get("system_prompt", self.settings.system_prompt)
        return prompt

    def presets(self) -> dict[str, str]:
        return presets.available(self.settings.presets)

    def _with_preset(self, prompt: str) -> str:
        if self.preset is None:
            return prompt
        return presets.apply(prompt, self.presets().get(self.preset, ""))

    # --- turns -------------------------------------------------------------------------------

    @property
    def streaming(self) -> bool:
        """A turn is under way (from the moment it was asked for until its answer settled)."""
        return self._task is not None

    def last_exchange(self) -> Exchange | None:
        found = self.conversation.exchanges()
        return found[-1] if found else None

    def last_prompt(self) -> str | None:
        """The text of the last exchange's current prompt, as it was sent."""
        exchange = self.last_exchange()
        prompt = exchange.shown.prompt if exchange is not None else None
        return prompt.content if prompt is not None else None

    async def send(
        self, prompt: str, *, system_prompt: str | None = None, **overrides: Override
    ) -> Message:
        """Send ``prompt`` as a new exchange and stream its answer to the end.

        Raises (the prompt is then not stored, or not answered: the caller keeps it) when no model
        can be found, the server cannot be reached for one, or the prompt cannot be stored.
        Everything after that is an event; the answer is returned as it finished. While compare
        models are set (``set_compare``), a compare turn: the answer then is the current one.
        """
        if self._compare_refs is not None:
            ended = await self.compare(prompt, self._compare_refs, system_prompt=system_prompt, **overrides)
            return ended.answers[ended.current if ended.current is not None else 0]
        await self._catch_up()
        message = Message(Role.USER, self._with_preset(prompt))
        return await self._answer(message, None, system_prompt=system_prompt, options=self.options(**overrides))

    async def retry(self, **overrides: Override) -> Message | None:
        """Answer the last exchange's current prompt again, as a new version; None when there is
        no prompt yet. ``overrides`` are request options for this answer only (a larger
        ``num_ctx``, ``think=False``)."""
        await self._catch_up()
        exchange = self.last_exchange()
        prompt = exchange.shown.prompt if exchange is not None else None
        if exchange is None or prompt is None or prompt.id is None:
            return None
        return await self._answer(prompt, exchange, options=self.options(**overrides))

    async def edit_last(self, prompt: str) -> Message:
        """Send ``prompt`` in place of the last exchange's prompt, as a new version of it."""
        await self._catch_up()
        exchange = self.last_exchange()
        if exchange is None:
            return await self.send(prompt)
        message = Message(Role.USER, self._with_preset(prompt), exchange_id=exchange.id, current=False)
        return await self._answer(message, exchange)

    async def _answer(
        self,
        prompt: Message,
        exchange: Exchange | None,
        *,
        system_prompt: str | None = None,
        options: ChatOptions | None = None,
    ) -> Message:
        if self._task is not None:
            raise Busy("An answer is still streaming: stop it first. Your prompt is kept.")
        self._task = asyncio.current_task()  # the session is taken before anything is awaited
        try:
            model = await self.resolve_model()
            prompt.model, prompt.provider = prompt.model or model, prompt.provider or self.backend.provider
            before = self.conversation.current_messages()
            if exchange is not None:  # the path up to the exchange answered again
                kept = {id(m) for m in exchange.shown.messages}
                before = [m for m in before if id(m) not in kept]
            turn = Turn(
                self.store,
                self.backend,
                self.conversation,
                prompt,
                model=model,
                options=options or self.options(),
                before=before,
                system_prompt=self.system_prompt() if system_prompt is None else system_prompt,
                loop_guard=self._loop_guard(),
            )
            turn.counts_cache = await self._counts_cache(model)
            turn.start()  # StoreError: nothing was sent
        except BaseException:
            self._task = None
            raise
        return await self._run(turn)

    async def _counts_cache(self, model: str) -> bool:
        try:
            return (await self.backend.capabilities(model)).prompt_count_cached is Support.YES
        except BackendError:
            return False

    def _loop_guard(self) -> LoopGuard:
        guard = self.settings.ui.loop_guard
        return guard if guard in ("off", "warn", "stop") else "warn"  # type: ignore[return-value]

    async def _run(self, turn: Turn) -> Message:
        task = asyncio.current_task()
        self.turn, self._task, self._stopping = turn, task, False
        self._ended = asyncio.Event()
        error: BackendError | StoreError | None = None
        try:
            await self._emit(TurnStarted(turn))
            # After the prompt is stored: a stop while servers start keeps it.
            turn.tools = await self._tool_runner(turn.model)
            loop = asyncio.get_running_loop()
            last_yield = loop.time()
            # aclosing: a stop can land between two events, outside the turn's stream; the turn
            # must still record the interruption before the answer settles.
            async with contextlib.aclosing(turn.stream()) as events:
                async for event in events:
                    if not isinstance(event, Done):
                        await self._emit(event)
                    if (turn.save_error is None) is not (self.save_error is None):
                        await self._saving_changed(turn)
                    if (now := loop.time()) - last_yield > FAIR_SHARE:
                        last_yield = now
                        await asyncio.sleep(0)
        except (BackendError, StoreError) as exc:
            error = exc
        except asyncio.CancelledError:
            # A stop asked for through stop() ends the turn as interrupted, an ordinary end;
            # any other cancellation (the app quitting) goes on once the answer is settled.
            if not self._stopping or task is None or task.uncancel() > 0:
                await asyncio.shield(self._end(turn, None))
                raise
        except BaseException:  # a listener failed (stdout closed, say): the turn is stored already
            self._task = None
            self._ended.set()
            raise
        await self._end(turn, error)
        return turn.assistant

    async def _end(self, turn: Turn, error: BackendError | StoreError | None) -> None:
        self._task = None
        try:
            if turn.assistant.status is MessageStatus.STREAMING:  # stopped before its stream began
                try:
                    turn.abandon()
                except StoreError as exc:
                    error = error or exc
            if turn.save_error is not None:
                self._unsaved.append(turn)
            if (turn.save_error is None) is not (self.save_error is None):
                await self._saving_changed(turn)
            current = turn.assistant.current
            if turn.assistant.status is MessageStatus.DONE and not current:
                try:
                    current = self._make_current(turn.assistant)
                except StoreError as exc:
                    error = error or exc
            await self._emit(TurnEnded(turn, error, current))
            if current and turn.assistant.status is MessageStatus.DONE:
                self._maybe_ask_for_title(turn)
        finally:
            self._ended.set()

    async def _saving_changed(self, turn: Turn) -> None:
        self.save_error = turn.save_error
        if self.save_error is None:  # the save that worked wrote the earlier answers too
            self._unsaved = [t for t in self._unsaved if t.assistant.id in self.store.unsaved]
        await self._emit(SavingChanged(self.save_error))

    def save_unsaved(self) -> list[Turn]:
        """Try once more to write the answers that could not be saved (at exit); the turns whose
        answer is still not stored."""
        left = {message.id for message in self.store.save_unsaved()}
        self._unsaved = [t for t in self._unsaved if t.assistant.id in left]
        return list(self._unsaved)

    def _make_current(self, message: Message) -> bool:
        for exchange in reversed(self.conversation.exchanges()):
            index = exchange.index_of(message)
            if index is not None:
                self.store.make_current(exchange, index)
                return True
        return False

    def stop(self, reason: str | None = None) -> bool:
        """Stop the streaming answer; it is kept, interrupted, with ``reason`` (default: the user
        stopped it). A turn still finding its model or storing its prompt is simply not sent.
        A compare turn stops every column. False when nothing streams."""
        if self._task is None:
            return False
        if self.compare_turn is not None:
            self.compare_turn.stop(reason)
            return True
        if self._stopping:  # asked already (Esc twice): one cancellation, or it reads as another's
            return True
        turn = self.turn
        if turn is not None and turn.assistant.status is MessageStatus.STREAMING:
            turn.stop_reason = reason or USER_STOPPED
            self._stopping = True
        self._task.cancel()
        return True

    async def stop_and_wait(self, reason: str | None = None) -> None:
        """Stop the streaming answer and wait until it is stored and settled."""
        if self.stop(reason):
            await self._ended.wait()

    def keep_going(self) -> bool:
        """Let a turn the loop guard warned about go on without more warnings."""
        if self.turn is None or not self.streaming:
            return False
        self.turn.keep_going = True
        return True

    def choose_version(self, exchange: Exchange, index: int) -> bool:
        """Show version ``index`` of ``exchange``; a finished one also becomes the one sent in
        later history. Returns whether it is current. Raises StoreError if that cannot be stored."""
        version = exchange.versions[index]
        answer = version.answer
        if answer is None or answer.status is not MessageStatus.DONE or self.streaming:
            return False
        self.store.make_current(exchange, index)
        return True

    # --- compare: one prompt, several models ----------------------------------------------------

    @property
    def compare_refs(self) -> tuple[ModelRef, ...] | None:
        """The models the next prompts go to side by side; None: the session's one model."""
        return self._compare_refs

    def set_compare(self, refs: Sequence[ModelRef] | None) -> None:
        """Send the next prompts to every model of ``refs`` (None, or fewer than two: stop comparing)."""
        self._compare_refs = tuple(refs) if refs is not None and len(refs) >= 2 else None

    def resolve_ref(self, ref: ModelRef) -> ModelRef:
        """``ref`` with its model named: an empty model is its provider's configured one. Raises
        ConfigError for an unknown provider, NoModel when the provider names no model."""
        if ref.model:
            return ref
        provider = self.settings.provider_config(ref.provider)
        if provider.name == self.provider.name and (model := self.preferred_model()):
            return type(ref)(model, ref.provider)
        model = (self.settings.model if provider.name == self.settings.provider else None) or provider.model
        if not model:
            raise NoModel(f"No model given for {ref.provider}: name one, as MODEL@{ref.provider}.")
        return type(ref)(model, ref.provider)

    async def compare(
        self, prompt: str, refs: Sequence[ModelRef], *, system_prompt: str | None = None, **overrides: Override
    ) -> CompareEnded:
        """Send ``prompt`` to every model of ``refs`` as one new exchange (r1chat/compare.py) and
        stream the answers to the end. Raises like ``send`` before anything is sent (Busy,
        StoreError, ConfigError, MissingSetting, NoModel); each column's own failure is an event."""
        from r1chat.compare import Column, CompareTurn

        await self._catch_up()
        if self._task is not None:
            raise Busy("An answer is still streaming: stop it first. Your prompt is kept.")
        self._task = asyncio.current_task()
        try:
            columns = []
            for index, ref in enumerate(refs):
                ref = self.resolve_ref(ref)
                provider = self.settings.provider_config(ref.provider)
                columns.append(Column(index, ref, provider, self.backend_for(ref.provider)))
            first = columns[0].ref
            message = Message(Role.USER, self._with_preset(prompt), model=first.model, provider=first.provider)
            run = CompareTurn(
                self.store,
                self.conversation,
                message,
                columns,
                options=self.options(**overrides),
                before=self.conversation.current_messages(),
                system_prompt=self.system_prompt() if system_prompt is None else system_prompt,
                loop_guard=self._loop_guard(),
                emit=self._emit,
            )
            run.start()  # StoreError: nothing was sent
        except BaseException:
            self._task = None
            raise
        self.compare_turn, self.turn = run, None
        self._ended = asyncio.Event()
        try:
            ended = await run.run()
        finally:
            self._task, self.compare_turn = None, None
            self._ended.set()
        # Answers a full disk did not take are kept for the next save or the recovery file.
        unsaved = [c.turn for c in run.columns if c.turn is not None and c.turn.save_error is not None]
        self._unsaved += unsaved
        if unsaved and self.save_error is None:
            await self._saving_changed(unsaved[0])
        return ended

    async def choose_column(self, index: int, exchange: Exchange | None = None) -> bool:
        """Make column ``index`` of a compare turn (``exchange``, default: the latest compare
        turn) the answer sent in later history, and go on with its model and provider (comparing
        stops). False when that answer did not finish or a turn is streaming. Raises StoreError,
        ConfigError (its provider is no longer configured), MissingSetting."""
        from r1chat.compare import choose_column

        if exchange is None:
            exchange = next((e for e in reversed(self.conversation.exchanges()) if e.is_compare), None)
        answer = next((a for a in exchange.columns() if a.column == index), None) if exchange else None
        if answer is None or self.streaming or not choose_column(self.store, self.conversation, answer):
            return False
        if answer.model:
            provider = answer.provider or self.provider.name
            if provider != self.provider.name:
                await self.switch_provider(self.settings.provider_config(provider), answer.model)
            else:
                self.use_model(answer.model)
            self.conversation.model, self.conversation.provider = answer.model, provider
            if self.conversation.id is not None:
                self.store.update_conversation(self.conversation)
        self.set_compare(None)
        return True

    # --- the draft: what is typed and not sent yet ------------------------------------------------

    def draft(self) -> str:
        """What was typed in this conversation and not sent, kept across quitting ('' when none,
        or when the store cannot say: a draft is never worth an error)."""
        try:
            return self.store.load_draft(self.conversation.id)
        except StoreError:
            return ""

    def keep_draft(self, text: str) -> None:
        """Keep ``text`` as this conversation's draft (blank: none). Raises StoreError."""
        self.store.save_draft(self.conversation.id, text)

    def drafted_conversation(self) -> int | None:
        """The stored conversation whose draft was written last, when no newer one waits in a
        new conversation: where a window closed with something typed should open again."""
        try:
            latest = self.store.latest_draft()
        except StoreError:
            return None
        return latest[0] if latest is not None else None

    # --- the context window -------------------------------------------------------------------

    async def fit(self, prompt: str | None, *, system_prompt: str | None = None, **overrides: Override) -> Fit:
        """How the conversation plus ``prompt`` (None: its last prompt answered again, as a retry
        sends it) compares with the window the next turn would be sent with (the model's own
        where the request cannot set one). Asks the server about the model once; the window is
        unknown (so anything fits) when it cannot say."""
        messages = self.conversation.current_messages()
        exchange = self.last_exchange() if prompt is None else None
        if prompt is not None:
            messages = [*messages, Message(Role.USER, self._with_preset(prompt))]
        elif exchange is not None and exchange.shown.prompt is not None:
            kept = {id(m) for m in exchange.shown.messages}
            messages = [*(m for m in messages if id(m) not in kept), exchange.shown.prompt]
        history = build_history(
            messages, system_prompt=self.system_prompt() if system_prompt is None else system_prompt
        )
        tokens = estimate_tokens(history)
        num_ctx = self.options(**overrides).num_ctx
        try:
            capabilities = await self.capabilities()
        except (BackendError, NoModel):
            return Fit(tokens, num_ctx)
        own = capabilities.context_length
        if capabilities.sets_window is not Support.YES:
            return Fit(tokens, own, own)
        # Ollama serves at most the model's own window whatever num_ctx asks (protocols.md A.6).
        return Fit(tokens, min(num_ctx, own) if num_ctx and own else num_ctx or own, own)

    def raise_window(self, num_ctx: int) -> None:
        """Send this conversation with a ``num_ctx`` window from now on, stored with it (as the
        conversation settings screen stores it). Raises StoreError if it cannot be stored."""
        self._keep("num_ctx", num_ctx)

    def summary_line(self) -> str:
        """A line that carries this conversation into a new one: its title and last prompt."""
        title = self.conversation.title.strip()
        last = (self.last_prompt() or "").strip()
        if len(last) > SUMMARY_PROMPT:
            last = last[:SUMMARY_PROMPT].rstrip() + "…"
        said = f'Earlier, in "{title}", I asked: {last}' if title else f"Earlier I asked: {last}"
        return said if last else (f'Going on from "{title}".' if title else "")

    async def out_of_room(self, turn: Turn) -> OutOfRoom | None:
        """Whether ``turn`` ended at its limit with no answer (the trace took it all), and how
        it could be answered again: a larger window, or without thinking where the model can."""
        try:
            capabilities: Capabilities | None = await self.backend.capabilities(turn.model)
        except BackendError:
            capabilities = None
        own = capabilities.context_length if capabilities is not None else None
        think_off = capabilities is not None and capabilities.thinking_off is Support.YES
        return out_of_room(turn.assistant, turn.options.num_predict, own, think_off=think_off)

    # --- titles ------------------------------------------------------------------------------

    def _maybe_ask_for_title(self, turn: Turn) -> None:
        """``[ui] titles = "model"``: after the first answer, the model titles the conversation."""
        if self.settings.ui.titles != "model" or len(self.conversation.exchanges()) != 1:
            return
        task = asyncio.get_running_loop().create_task(self._title_by_model(turn))
        self._titles.add(task)
        task.add_done_callback(self._titles.discard)

    async def _title_by_model(self, turn: Turn) -> None:
        conversation = turn.conversation
        title = await ask_for_title(turn.backend, turn.model, turn.user.content)
        if title is None or conversation.id is None:
            return
        try:
            replaced = self.store.replace_title(conversation.id, conversation.title, title)
        except StoreError:
            return  # the prompt's title stays; the store's own trouble shows on the next turn
        if replaced:
            conversation.title = title
            await self._emit(TitleChanged(conversation, title))

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait for work that outlives a turn (a title being written), at most ``timeout``."""
        if self._titles:
            await asyncio.wait(list(self._titles), timeout=timeout)


__all__ = [
    "Busy",
    "ChatSession",
    "Connection",
    "ConversationReloaded",
    "MissingSetting",
    "NoModel",
    "SavingChanged",
    "SessionEvent",
    "TitleChanged",
    "ToolCallEnded",
    "ToolCallStarted",
    "ToolNote",
    "ToolsChanged",
    "ToolsUnavailable",
    "TurnEnded",
    "TurnStarted",
]

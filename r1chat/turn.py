"""Runs one assistant turn, for the CLI and the TUI alike.

The prompt is stored before anything is sent; the answer is stored as a ``streaming`` message
before the first token, saved at least once a second by the clock (a stalled stream too) and on
every change of state, and finished as ``done``, ``interrupted`` (cancelled, Ctrl+C, the loop
guard) or ``error``. A crash leaves it ``streaming``, which the next start turns into
``interrupted`` (``Store.recover_interrupted``).

A save that fails (a full disk) does not end the turn: the answer goes on in memory,
``save_error`` says why it is not stored, and every later save writes it whole (the store keeps
it until one works); the session offers what never got written to a recovery file at exit.

The answer's parts follow the stream: a reasoning segment while the trace streams, a text part
once the answer begins, a new segment if the model thinks again.

Tools: when the session gives the turn a ``ToolRunner``, each request offers its tools; the calls
a request asks for are added to the answer's parts as they arrive, then approved and run in order
(``ToolCallStarted``, ``ToolCallEnded``) and the next request sends the results, until a request
asks for none. After ``step_limit`` requests with tools one last request goes without them
(``ToolNote``). A model that turns out not to call tools is asked again without them
(``ToolsUnavailable``). A stop during a call stores it with its result marked abandoned.

The loop guard is a policy of the turn: small distills fall into loops, and ``warn`` reports each
loop as it appears or grows (``LoopNoticed``), ``stop`` ends the turn as interrupted with the
reason stored, ``off`` does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Literal

from r1chat.backends.base import (
    Backend,
    BackendError,
    ChatOptions,
    Content,
    Done,
    Reasoning,
    ReasoningDetails,
    ToolCall,
    ToolsRefused,
    TurnStats,
)
from r1chat.conversation import (
    USER_STOPPED,
    Conversation,
    History,
    Message,
    MessageStatus,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    build_history,
    title_from_prompt,
)
from r1chat.loops import Loop, LoopDetector
from r1chat.store import Store, StoreError
from r1chat.tools.events import ToolCallEnded, ToolCallStarted, ToolNote, ToolsUnavailable
from r1chat.tools.runner import ABANDONED, NOT_RUN, ToolRunner
from r1chat.window import estimate_tokens, history_cut, previous_prompt_tokens

# Periodic saves run off the event loop; one worker keeps them in order.
_saver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="r1chat-save")

LoopGuard = Literal["off", "warn", "stop"]


@dataclass(frozen=True, slots=True)
class LoopNoticed:
    """The trace (``where="trace"``) or the answer keeps repeating a passage; ``stopped``: the
    guard ends the turn for it."""

    loop: Loop
    where: str
    stopped: bool

    def describe(self) -> str:
        return f"the {self.where} repeated {self.loop.describe()}"


TurnEvent = Reasoning | Content | Done | LoopNoticed | ToolCallStarted | ToolCallEnded | ToolNote | ToolsUnavailable


class Turn:
    """One answer to ``prompt``: a new message, or one already stored that is answered again
    (a retry). ``before`` is the conversation as the model should read it before the prompt."""

    def __init__(
        self,
        store: Store,
        backend: Backend,
        conversation: Conversation,
        prompt: Message | str,
        *,
        model: str,
        options: ChatOptions,
        before: Sequence[Message] | None = None,
        system_prompt: str = "",
        loop_guard: LoopGuard = "warn",
        save_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.backend = backend
        self.conversation = conversation
        self.model = model
        self.options = options
        self.before = list(conversation.current_messages() if before is None else before)
        self.system_prompt = system_prompt
        self.loop_guard = loop_guard
        self.save_interval = save_interval
        self.clock = clock
        self.user = Message(Role.USER, prompt, model=model, provider=backend.provider) if isinstance(prompt, str) else prompt
        # A new exchange's answer is current at once; another version becomes current when done.
        self.new_exchange = self.user.id is None and self.user.exchange_id is None
        self.assistant = Message(
            Role.ASSISTANT,
            status=MessageStatus.STREAMING,
            model=model,
            provider=backend.provider,
            current=self.new_exchange,
        )
        self._part: TextPart | ReasoningPart | None = None
        self._pieces: list[str] = []  # the text of the part being written, as it came
        # Pieces of trace and answer streamed so far: a token each on the servers that stream one
        # a piece (Ollama, llama.cpp), close to it elsewhere. The live figures count them.
        self.streamed = 0
        self._last_save = 0.0
        self._changed = False  # pieces arrived since the last save began
        self._pending: Future[None] | None = None
        # Why the latest save failed (a full disk), None once one works: the answer is then only
        # in memory, and in the store's list of what to write again.
        self.save_error: StoreError | None = None
        self._history: History | None = None  # what was sent, once the turn started
        # Said in the stored answer when it is cut off (by default: the user stopped it).
        self.stop_reason = USER_STOPPED
        self.trace_loops = LoopDetector()
        self.answer_loops = LoopDetector()
        self.keep_going = False  # the reader chose to let a looping turn go on
        # The server's prompt count includes cached tokens, so it can tell a cut history (set by
        # the session from the backend's capabilities; without it no cut is ever reported).
        self.counts_cache = False
        # The tools this turn may call (set by the session); None: a turn without tools.
        self.tools: ToolRunner | None = None
        self._calls: list[tuple[ToolCallPart, str]] = []  # the last request's calls, with argument errors
        self._details: list[dict[str, Any]] | None = None  # its structured reasoning (OpenRouter)
        self._stopped = False  # the loop guard stopped the turn
        self._earlier_tokens = 0  # completion tokens of the turn's earlier requests

    # --- saving ------------------------------------------------------------------------------

    def _sync_text(self) -> None:
        if self._part is not None:
            self._part.text = "".join(self._pieces)

    def _save_soon(self) -> None:
        """Save in the background unless a save is still running."""
        if self._pending is not None and not self._pending.done():
            return
        self._sync_text()
        self._last_save = self.clock()
        self._changed = False
        self._pending = _saver.submit(self._save)

    def _save(self) -> None:
        try:
            self.store.save_message(self.assistant)
        except StoreError as exc:
            self.save_error = exc
        else:
            self.save_error = None

    def _save_now(self) -> None:
        if self._pending is not None:
            with contextlib.suppress(Exception):  # the save below says what is wrong
                self._pending.result(timeout=60)
        self._sync_text()
        self._save()

    async def _save_by_the_clock(self) -> None:
        """While the stream runs, save what changed (or what a failed save left unwritten) once
        an interval even when no event comes: a stalled stream is saved too."""
        while True:
            # A quarter of the interval: a save is at most that late (four wake-ups a second).
            await asyncio.sleep(self.save_interval / 4)
            due = self.clock() - self._last_save >= self.save_interval
            if due and (self._changed or self.save_error is not None):
                self._save_soon()

    def _finish(self, status: MessageStatus, error: str | None = None) -> None:
        now = self.clock()
        message = self.assistant
        message.status = status
        message.error = error
        message.finished_at = now
        if isinstance(self._part, ReasoningPart) and self._part.ended_at is None:
            self._part.ended_at = now
        if status is not MessageStatus.DONE:
            self._keep_counts()
        self._save_now()

    def _keep_counts(self) -> None:
        """A turn cut short has no final stats: keep the trace's tokens counted as they came, so
        the answer reloaded later still says how much it thought."""
        self._sync_text()
        stats = self.assistant.stats
        counted = sum(segment.tokens or 0 for segment in self.assistant.segments)
        if stats.reasoning_tokens is None and counted:
            stats.reasoning_tokens = counted

    # --- the answer's parts ------------------------------------------------------------------

    def _begin(self, part: TextPart | ReasoningPart, now: float) -> None:
        self._sync_text()
        if isinstance(self._part, ReasoningPart) and isinstance(part, TextPart):
            self._part.ended_at = now
        self._part = part
        self._pieces = []
        self.assistant.parts.append(part)
        self._last_save = 0.0  # a change of state: save now

    # --- running -----------------------------------------------------------------------------

    def history(self) -> History:
        return build_history([*self.before, self.user], system_prompt=self.system_prompt)

    def start(self) -> History:
        """Store the prompt (unless it is a stored one answered again) and the empty answer; the
        request's history. Raises StoreError when they cannot be stored: nothing is sent then."""
        conversation = self.conversation
        history = self.history()
        if not conversation.title:
            conversation.title = title_from_prompt(self.user.content)
        conversation.model = self.model
        conversation.provider = self.backend.provider
        if conversation.id is not None:  # else it is stored with the prompt, in one transaction
            self.store.update_conversation(conversation)
        self.assistant.created_at = self.clock()
        if self.user.id is None:  # the prompt and its answer in one transaction: both or neither
            self.store.add_message(conversation, self.user, answer=self.assistant)
            conversation.messages += [self.user, self.assistant]
        else:
            self.assistant.exchange_id = self.user.exchange_id
            self.assistant.reply_to = self.user.id
            self.store.add_message(conversation, self.assistant)
            conversation.messages.append(self.assistant)
        self._history = history
        return history

    async def stream(self) -> AsyncGenerator[TurnEvent, None]:
        """Yield the backend's events (and the loop guard's, and the tool loop's) while recording
        them; raises the backend's errors."""
        history = self._history if self._history is not None else self.start()
        clock = None
        if math.isfinite(self.save_interval):
            clock = asyncio.get_running_loop().create_task(self._save_by_the_clock())
        try:
            step = 0
            while True:
                request = history if step == 0 else History(history.system, (*history.messages, self.assistant))
                self._calls = []
                async with contextlib.aclosing(self._request(request, self._step_options(step))) as events:
                    async for event in events:
                        yield event
                        if isinstance(event, LoopNoticed) and event.stopped:
                            self.stop_reason = f"Stopped: {event.describe()}."
                            self._stopped = True
                            break
                if self._stopped or not self._calls:
                    break
                async with contextlib.aclosing(self._run_calls()) as ran:
                    async for tool_event in ran:
                        yield tool_event
                step += 1
                limit = self.tools.settings.step_limit if self.tools is not None else 0
                if step == limit:
                    yield ToolNote(f"step limit reached ({limit} requests with tools): one last answer without them")
        except BackendError as exc:
            self._finish(MessageStatus.ERROR, str(exc))
            raise
        except BaseException:  # cancelled, Ctrl+C, the consumer stopped early
            self._finish(MessageStatus.INTERRUPTED, self.stop_reason)
            raise
        finally:
            if clock is not None:
                clock.cancel()
        if self._stopped:
            self._finish(MessageStatus.INTERRUPTED, self.stop_reason)
        else:
            self._finish(MessageStatus.DONE)

    def _step_options(self, step: int) -> ChatOptions:
        """Tools go with every request of the loop up to the step limit; a turn without tools
        sends earlier tool turns as text (the model may not take tool messages)."""
        runner = self.tools
        if runner is None:
            return replace(self.options, tools=(), tool_turns_as_text=True)
        tools = runner.specs if step < runner.settings.step_limit else ()
        return replace(self.options, tools=tools, tool_turns_as_text=False)

    async def _request(self, history: History, options: ChatOptions) -> AsyncGenerator[TurnEvent, None]:
        """One request of the turn; a model that turns out not to call tools is asked again
        without them (its backend remembers the refusal)."""
        try:
            async for event in self._one_request(history, options):
                yield event
        except ToolsRefused:
            if not options.tools:
                raise
            self.tools = None
            yield ToolsUnavailable(f"tools off: {self.model} cannot call tools")
            async for event in self._one_request(history, self._step_options(0)):
                yield event

    async def _one_request(self, history: History, options: ChatOptions) -> AsyncGenerator[TurnEvent, None]:
        message = self.assistant
        events = self.backend.chat(self.model, history, options)
        try:
            async for event in events:
                now = self.clock()
                if message.first_token_at is None and not isinstance(event, Done):
                    message.first_token_at = now
                notice = None
                if isinstance(event, Reasoning):
                    part = self._part
                    if not isinstance(part, ReasoningPart):
                        part = ReasoningPart(started_at=now, tokens=0)
                        self._begin(part, now)
                    self._pieces.append(event.text)
                    self._changed = True
                    part.tokens = (part.tokens or 0) + 1
                    self.streamed += 1
                    notice = self._watch(self.trace_loops, event.text, "trace")
                elif isinstance(event, Content):
                    if not isinstance(self._part, TextPart):
                        self._begin(TextPart(), now)
                    self._pieces.append(event.text)
                    self._changed = True
                    self.streamed += 1
                    notice = self._watch(self.answer_loops, event.text, "answer")
                elif isinstance(event, ToolCall):
                    if options.tools and self.tools is not None:
                        self._add_call(event, now)
                    continue
                elif isinstance(event, ReasoningDetails):
                    self._details = list(event.items)
                    continue
                else:
                    self._done(event, now)
                yield event
                if notice is not None:
                    yield notice
                    if notice.stopped:
                        return
                if now - self._last_save >= self.save_interval:
                    self._save_soon()
        finally:
            await events.aclose()

    # --- tool calls --------------------------------------------------------------------------

    def _add_call(self, call: ToolCall, now: float) -> None:
        assert self.tools is not None
        self._sync_text()
        if isinstance(self._part, ReasoningPart) and self._part.ended_at is None:
            self._part.ended_at = now
        self._part, self._pieces = None, []
        part = self.tools.part_for(call)
        self.assistant.parts.append(part)
        self._calls.append((part, call.error))
        self._last_save = 0.0

    async def _run_calls(self) -> AsyncGenerator[TurnEvent, None]:
        """Approve and run the calls of the last request, in order, each result stored as it comes."""
        runner = self.tools
        assert runner is not None
        if self._details is not None and self._calls:
            self._calls[0][0].reasoning_details = self._details
        self._details = None
        for part, error in self._calls:
            yield ToolCallStarted(part)
            try:
                result = await runner.run(part, error)
            except BaseException:
                said = ABANDONED if runner.running == part.id else NOT_RUN
                self.assistant.parts.append(ToolResultPart(part.id, part.name, said, is_error=True))
                raise
            self.assistant.parts.append(result)
            self._save_soon()
            yield ToolCallEnded(part.id, result)

    def abandon(self) -> None:
        """Finish a turn stopped before its stream began: interrupted, with the stop's reason."""
        self._finish(MessageStatus.INTERRUPTED, self.stop_reason)

    def _watch(self, detector: LoopDetector, text: str, where: str) -> LoopNoticed | None:
        loop = detector.feed(text)
        if loop is None or self.loop_guard == "off" or self.keep_going:
            return None
        return LoopNoticed(loop, where, stopped=self.loop_guard == "stop")

    def _done(self, event: Done, now: float) -> None:
        self._sync_text()
        stats, message = event.stats, self.assistant
        tool_turn = any(isinstance(part, ToolCallPart) for part in message.parts)
        if tool_turn and stats.completion_tokens is not None:
            # Several requests: the answer's count is theirs together.
            stats.completion_tokens += self._earlier_tokens
            self._earlier_tokens = stats.completion_tokens
        if stats.reasoning_was_answer and not tool_turn:
            # What streamed as a guessed opener-less trace was the whole answer.
            answer = TextPart(message.reasoning + message.content)
            message.parts = [answer]
            self._part, self._pieces = answer, [answer.text]
        if stats.total_seconds is None:
            stats.total_seconds = now - message.created_at
        if stats.eval_seconds is None and message.first_token_at is not None:
            stats.eval_seconds = max(now - message.first_token_at, 1e-6)
        segments = message.segments
        if stats.reasoning_tokens is None and segments:
            # Ollama counts no trace tokens apart; it streams a token a piece (as tokens_counted),
            # and each segment counted its pieces.
            stats.reasoning_tokens = sum(segment.tokens or 0 for segment in segments)
        elif stats.reasoning_tokens is not None and len(segments) == 1:
            segments[0].tokens = stats.reasoning_tokens
        message.stats = stats
        self._note_cut(stats)

    def _note_cut(self, stats: TurnStats) -> None:
        """Mark the stats when the server dropped part of the history to fit its window."""
        if not self.counts_cache or self._history is None:
            return
        window = self.options.num_ctx or stats.context_size
        previous = previous_prompt_tokens(self.before, self.model)
        stats.history_cut = history_cut(stats, estimate_tokens(self._history), window, previous)

    async def run(self, on_event: Callable[[TurnEvent], None] | None = None) -> Message:
        async for event in self.stream():
            if on_event is not None:
                on_event(event)
        return self.assistant

"""A compare turn: one prompt, one answer per model, for the chat screen and ``r1chat compare``.

The prompt is stored once, as a new exchange; each model's answer is a version of that exchange
with its column number (``Message.column``), so a compare turn reopens, exports and is searched
like any other, and later history sends only the current answer (the first column's, until one
is chosen; the first finished one when the first failed).

Requests to a provider that runs one request at a time (an Ollama host by default: a small
machine holds one model in memory, and two models at once would swap each other out) go one
after another, each waiting column told whom it waits for; different hosts run at once.

Events, through the session's subscribers, in order for each column:
``CompareStarted`` (every answer stored, none sent yet), ``ColumnEvent(i, Waiting)`` while a
column queues behind another, ``ColumnEvent(i, TurnStarted)``, its ``Reasoning``/``Content``/
``LoopNoticed`` pieces, ``ColumnEvent(i, TurnEnded)``; then ``CompareEnded`` once all are settled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from r1chat.backends import backend_url
from r1chat.backends.base import Backend, BackendError, ChatOptions, Content, Reasoning
from r1chat.compare_events import ColumnEvent, CompareEnded, CompareEvent, CompareStarted, Waiting
from r1chat.config import ProviderConfig
from r1chat.conversation import USER_STOPPED, Conversation, Message, MessageStatus
from r1chat.grade import agree, final_answer
from r1chat.refs import ModelRef
from r1chat.session import FAIR_SHARE, TurnEnded, TurnStarted
from r1chat.store import Store, StoreError
from r1chat.turn import LoopGuard, LoopNoticed, Turn

Emit = Callable[[CompareEvent], Awaitable[None]]

def answer_cost(answer: Message, provider: ProviderConfig | None) -> float | None:
    """What an answer cost: the server's own figure (OpenRouter's usage.cost), else the provider's
    configured prices per million tokens; None when neither is known."""
    stats = answer.stats
    if stats.cost is not None:
        return stats.cost
    if provider is None or (stats.prompt_tokens is None and stats.completion_tokens is None):
        return None
    return provider.cost(stats.prompt_tokens, stats.completion_tokens)


# --- running -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Column:
    index: int
    ref: ModelRef
    provider: ProviderConfig
    backend: Backend
    turn: Turn | None = None
    error: BackendError | StoreError | None = None
    started: bool = False

    @property
    def lane(self) -> str:
        """Columns in one lane run one after another: one host that answers one at a time."""
        if self.provider.runs_in_parallel:
            return f"#{self.index}"
        return backend_url(self.provider)


class CompareTurn:
    """One prompt answered by every column's model, stored as one exchange."""

    def __init__(
        self,
        store: Store,
        conversation: Conversation,
        prompt: Message,
        columns: Sequence[Column],
        *,
        options: ChatOptions,
        before: Sequence[Message],
        system_prompt: str = "",
        loop_guard: LoopGuard = "warn",
        emit: Emit,
    ) -> None:
        if len(columns) < 1:
            raise ValueError("a compare turn needs at least one model")
        self.store = store
        self.conversation = conversation
        self.prompt = prompt
        self.columns = list(columns)
        self.options = options
        self.before = list(before)
        self.system_prompt = system_prompt
        self.loop_guard = loop_guard
        self._emit = emit
        self.stop_reason = USER_STOPPED
        self._stopping = False
        self._lanes: list[asyncio.Task[None]] = []

    @property
    def refs(self) -> tuple[ModelRef, ...]:
        return tuple(column.ref for column in self.columns)

    @property
    def answers(self) -> list[Message]:
        return [column.turn.assistant for column in self.columns if column.turn is not None]

    def start(self) -> None:
        """Store the prompt and every column's empty answer. Raises StoreError: then nothing is sent
        (the columns stored before the failure stay, interrupted)."""
        for column in self.columns:
            turn = Turn(
                self.store,
                column.backend,
                self.conversation,
                self.prompt,
                model=column.ref.model,
                options=self.options,
                before=self.before,
                system_prompt=self.system_prompt,
                loop_guard=self.loop_guard,
            )
            turn.assistant.column = column.index
            turn.assistant.provider = column.ref.provider
            turn.stop_reason = self.stop_reason
            try:
                turn.start()
            except StoreError:
                for started in self.columns[: column.index]:
                    if started.turn is not None:
                        with contextlib.suppress(StoreError):
                            started.turn.abandon()
                raise
            column.turn = turn
        # Each turn names its own model on the conversation; the first column's stands until one is chosen.
        first = self.columns[0].ref
        self.conversation.model, self.conversation.provider = first.model, first.provider
        with contextlib.suppress(StoreError):  # what the title bar says; the answers are stored
            self.store.update_conversation(self.conversation)

    async def run(self) -> CompareEnded:
        """Run every column (``start`` first) and settle; a stop ends each as interrupted."""
        await self._emit(CompareStarted(self.prompt.exchange_id, self.refs, self.answers))
        lanes: dict[str, list[Column]] = {}
        for column in self.columns:
            lanes.setdefault(column.lane, []).append(column)
        for queue in lanes.values():
            for waiting in queue[1:]:
                await self._emit(ColumnEvent(waiting.index, Waiting(queue[0].ref)))
        self._lanes = [asyncio.create_task(self._run_lane(queue)) for queue in lanes.values()]
        try:
            await asyncio.gather(*self._lanes)
        except BaseException:  # the app is going away, or a listener failed: settle every answer
            self._stop_lanes(self.stop_reason)
            await asyncio.shield(asyncio.gather(*self._lanes, return_exceptions=True))
            raise
        return await self._end()

    def stopping(self) -> bool:
        """Whether a stop was asked for (a method: it changes while a lane awaits)."""
        return self._stopping

    def stop(self, reason: str | None = None) -> None:
        """Stop every column: those streaming and those still waiting end interrupted."""
        self._stop_lanes(reason or USER_STOPPED)

    def _stop_lanes(self, reason: str) -> None:
        if self._stopping:
            return
        self._stopping = True
        self.stop_reason = reason
        for column in self.columns:
            if column.turn is not None and column.turn.assistant.status is MessageStatus.STREAMING:
                column.turn.stop_reason = reason
        for lane in self._lanes:
            lane.cancel()

    async def _run_lane(self, queue: list[Column]) -> None:
        cancelled = False  # from outside (the app going away): every column settles, then it goes on
        for position, column in enumerate(queue):
            if self.stopping() or cancelled:
                await self._settle(column)
                continue
            if position > 0:
                for waiting in queue[position + 1 :]:
                    await self._emit(ColumnEvent(waiting.index, Waiting(column.ref)))
            try:
                await self._run_column(column)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if self.stopping() and task is not None:
                    task.uncancel()  # our own stop: an ordinary end for this lane
                else:
                    cancelled = True
            await self._settle(column)
        if cancelled:
            raise asyncio.CancelledError

    async def _run_column(self, column: Column) -> None:
        turn = column.turn
        assert turn is not None
        column.started = True
        # Timed from the request, not from when the answer was stored: a column that queued
        # behind another would count its wait as time to first token.
        turn.assistant.created_at = turn.clock()
        emit, index = self._emit, column.index
        await emit(ColumnEvent(index, TurnStarted(turn)))
        loop = asyncio.get_running_loop()
        last_yield = loop.time()
        try:
            async with contextlib.aclosing(turn.stream()) as events:
                async for event in events:
                    # A compare turn offers no tools, so no tool event comes.
                    if isinstance(event, (Reasoning, Content, LoopNoticed)):
                        await emit(ColumnEvent(index, event))
                    if (now := loop.time()) - last_yield > FAIR_SHARE:
                        last_yield = now
                        await asyncio.sleep(0)
        except (BackendError, StoreError) as exc:
            column.error = exc

    async def _settle(self, column: Column) -> None:
        """End the column's answer (one never sent: interrupted) and say so."""
        turn = column.turn
        assert turn is not None
        if turn.assistant.status is MessageStatus.STREAMING:
            turn.stop_reason = self.stop_reason
            try:
                turn.abandon()
            except StoreError as exc:
                column.error = column.error or exc
        if not column.started:
            await self._emit(ColumnEvent(column.index, TurnStarted(turn)))
        await self._emit(ColumnEvent(column.index, TurnEnded(turn, column.error, turn.assistant.current)))

    async def _end(self) -> CompareEnded:
        answers = self.answers
        current = next((i for i, a in enumerate(answers) if a.current and a.status is MessageStatus.DONE), None)
        if current is None:  # the first column failed: the first that finished is sent from now on
            current = next((i for i, a in enumerate(answers) if a.status is MessageStatus.DONE), None)
            if current is not None:
                with contextlib.suppress(StoreError):
                    self.make_current(current)
        finals = [final_answer(a.content) if a.status is MessageStatus.DONE else None for a in answers]
        costs = [answer_cost(a, column.provider) for a, column in zip(answers, self.columns, strict=True)]
        ended = CompareEnded(finals, agree(finals), costs, answers, current)
        await self._emit(ended)
        return ended

    def make_current(self, index: int) -> bool:
        """Make column ``index``'s answer the one sent in later history (raises StoreError)."""
        return choose_column(self.store, self.conversation, self.answers[index])


def choose_column(store: Store, conversation: Conversation, answer: Message) -> bool:
    """Make a compare answer current in its exchange; False when it did not finish."""
    if answer.status is not MessageStatus.DONE:
        return False
    for exchange in reversed(conversation.exchanges()):
        version = exchange.index_of(answer)
        if version is not None:
            store.make_current(exchange, version)
            return True
    return False


__all__ = [
    "Column",
    "ColumnEvent",
    "CompareEnded",
    "CompareEvent",
    "CompareStarted",
    "CompareTurn",
    "Waiting",
    "answer_cost",
    "choose_column",
]

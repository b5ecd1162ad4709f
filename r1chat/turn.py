"""Runs one assistant turn, for the CLI and the TUI alike.

The prompt is stored before anything is sent; the answer is stored as a ``streaming`` message
before the first token, saved at least once a second and on every change of state, and finished
as ``done``, ``interrupted`` (cancelled, Ctrl+C) or ``error``. A crash leaves it ``streaming``,
which the next start turns into ``interrupted`` (``Store.recover_interrupted``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor

from r1chat.backends.base import Backend, BackendError, ChatOptions, Content, Done, Reasoning, StreamEvent
from r1chat.conversation import Conversation, Message, MessageStatus, Role, build_history, title_from_prompt
from r1chat.store import Store

# Periodic saves run off the event loop; one worker keeps them in order.
_saver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="r1chat-save")


class Turn:
    def __init__(
        self,
        store: Store,
        backend: Backend,
        conversation: Conversation,
        prompt: str,
        *,
        model: str,
        options: ChatOptions,
        system_prompt: str = "",
        save_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.backend = backend
        self.conversation = conversation
        self.model = model
        self.options = options
        self.system_prompt = system_prompt
        self.save_interval = save_interval
        self.clock = clock
        self.user = Message(Role.USER, prompt, model=model, provider=backend.provider)
        self.assistant = Message(
            Role.ASSISTANT, status=MessageStatus.STREAMING, model=model, provider=backend.provider
        )
        self._reasoning: list[str] = []
        self._content: list[str] = []
        self._last_save = 0.0
        self._pending: Future[None] | None = None
        # Said in the stored answer when it is cut off (by default: the user stopped it).
        self.stop_reason = "Stopped before the answer was finished."

    # --- saving ------------------------------------------------------------------------------

    def _sync_text(self) -> None:
        self.assistant.reasoning = "".join(self._reasoning)
        self.assistant.content = "".join(self._content)

    def _save_soon(self) -> None:
        """Save in the background unless a save is still running."""
        if self._pending is not None and not self._pending.done():
            return
        self._sync_text()
        self._last_save = self.clock()
        self._pending = _saver.submit(self.store.save_message, self.assistant)

    def _save_now(self) -> None:
        if self._pending is not None:
            try:
                self._pending.result(timeout=60)
            except Exception:  # noqa: BLE001 - the final save below says what is wrong
                pass
        self._sync_text()
        self.store.save_message(self.assistant)

    def _finish(self, status: MessageStatus, error: str | None = None) -> None:
        now = self.clock()
        message = self.assistant
        message.status = status
        message.error = error
        message.finished_at = now
        if message.reasoning_started_at is not None and message.reasoning_ended_at is None:
            message.reasoning_ended_at = now
        self._save_now()

    # --- running -----------------------------------------------------------------------------

    def _start(self) -> list[dict[str, str]]:
        conversation = self.conversation
        history = build_history([*conversation.messages, self.user], system_prompt=self.system_prompt)
        if not conversation.title:
            conversation.title = title_from_prompt(self.user.content)
        conversation.model = self.model
        conversation.provider = self.backend.provider
        if conversation.id is None:
            self.store.create_conversation(conversation)
        else:
            self.store.update_conversation(conversation)
        self.store.add_message(conversation, self.user)
        conversation.messages.append(self.user)
        self.assistant.created_at = self.clock()
        self.store.add_message(conversation, self.assistant)
        conversation.messages.append(self.assistant)
        return history

    async def stream(self) -> AsyncIterator[StreamEvent]:
        """Yield the backend's events while recording them; raises the backend's errors."""
        history = self._start()
        message = self.assistant
        events = self.backend.chat(self.model, history, self.options)
        try:
            async for event in events:
                now = self.clock()
                if message.first_token_at is None and not isinstance(event, Done):
                    message.first_token_at = now
                if isinstance(event, Reasoning):
                    if message.reasoning_started_at is None:
                        message.reasoning_started_at = now
                        self._last_save = 0.0  # a change of state: save now
                    self._reasoning.append(event.text)
                elif isinstance(event, Content):
                    if not self._content:
                        if message.reasoning_started_at is not None and message.reasoning_ended_at is None:
                            message.reasoning_ended_at = now
                        self._last_save = 0.0
                    self._content.append(event.text)
                elif isinstance(event, Done):
                    if event.stats.reasoning_was_answer:
                        self._reasoning_was_answer()
                    self._fill_stats(event, now)
                    message.stats = event.stats
                yield event
                if now - self._last_save >= self.save_interval:
                    self._save_soon()
        except BackendError as exc:
            self._finish(MessageStatus.ERROR, str(exc))
            raise
        except BaseException:  # cancelled, Ctrl+C, the consumer stopped early
            self._finish(MessageStatus.INTERRUPTED, self.stop_reason)
            raise
        finally:
            await events.aclose()
        self._finish(MessageStatus.DONE)

    def _reasoning_was_answer(self) -> None:
        self._content[:0] = self._reasoning
        self._reasoning.clear()
        self.assistant.reasoning_started_at = self.assistant.reasoning_ended_at = None

    def _fill_stats(self, event: Done, now: float) -> None:
        stats, message = event.stats, self.assistant
        if stats.total_seconds is None:
            stats.total_seconds = now - message.created_at
        if stats.eval_seconds is None and message.first_token_at is not None:
            stats.eval_seconds = max(now - message.first_token_at, 1e-6)
        if stats.reasoning_tokens is None and self._reasoning:
            # Ollama counts no trace tokens apart; it streams a token a piece (as tokens_counted).
            stats.reasoning_tokens = len(self._reasoning)

    async def run(self, on_event: Callable[[StreamEvent], None] | None = None) -> Message:
        async for event in self.stream():
            if on_event is not None:
                on_event(event)
        return self.assistant

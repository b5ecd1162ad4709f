"""The one reasoning demux: a server's reasoning field where it sends one, else inline tags.

Servers put a trace in a field of its own (Ollama ``message.thinking``, ``reasoning_content``,
``reasoning``, ``reasoning_details``; protocols.md A.1, C) or leave it as ``<think>`` tags in the
answer text (no reasoning parser on the server). Every backend feeds each chunk's two texts here
and yields what comes out, so a trace reads the same whoever served it:

* once a reasoning field has been seen, content is the answer as it comes: the server has parsed
  the trace itself, and a ``<think>`` in the answer is a quote;
* content that arrives before any reasoning field goes through ``ThinkSplitter``, and keeps going
  through it: a field arriving later does not change how the text around it was read.
"""

from __future__ import annotations

from collections.abc import Sequence

from r1chat.backends.base import Content, Reasoning, TurnStats
from r1chat.reasoning import Delta, ThinkSplitter

Event = Reasoning | Content

_NOTHING: tuple[Event, ...] = ()


class Demux:
    """Reasoning and content events from one turn's stream of (reasoning, content) pairs.

    ``assume_thinking``: inline text starts inside an unopened trace (R1 templates pre-fill
    ``<think>\\n``; protocols.md A.1). ``guessed``: that was a guess from the model's name or
    capability, not the user's setting, so an "unclosed trace" that ends normally was the answer.

        demux = Demux(assume_thinking=True, guessed=True)
        for chunk in stream: yield from demux.feed(chunk.reasoning, chunk.content)
        yield from demux.close()
        demux.finish(stats)
    """

    __slots__ = ("_answered", "_assume", "_closed", "_guessed", "_native", "_splitter")

    def __init__(self, assume_thinking: bool, *, guessed: bool) -> None:
        self._assume = assume_thinking
        self._guessed = guessed
        self._splitter: ThinkSplitter | None = None
        self._native = False  # a reasoning field arrived
        self._answered = False  # content arrived
        self._closed = False

    def feed(self, reasoning: str | None, content: str | None) -> Sequence[Event]:
        """The events of one chunk, reasoning first. Called once a token: no list unless the
        splitter is at work."""
        if reasoning:
            self._native = True
            if not content:
                return (Reasoning(reasoning),)
            self._answered = True
            if self._splitter is None:
                return Reasoning(reasoning), Content(content)
            return (Reasoning(reasoning), *self._split(content))
        if not content:
            return _NOTHING
        self._answered = True
        if self._native and self._splitter is None:
            return (Content(content),)
        return self._split(content)

    def close(self) -> Sequence[Event]:
        """What the splitter held back at the end of the stream (a partial tag, whitespace)."""
        self._closed = True
        if self._splitter is None:
            return _NOTHING
        return _events(self._splitter.close())

    def finish(self, stats: TurnStats) -> None:
        """Fill ``stats.reasoning_truncated`` and ``reasoning_was_answer`` from its finish reason;
        after ``close()``."""
        if not self._closed:
            raise RuntimeError("Demux.finish() before close()")
        reason = stats.finish_reason
        # A window that filled up while the model was still thinking cut the trace off.
        truncated = self._native and not self._answered and reason == "length"
        was_answer = False
        splitter = self._splitter
        if splitter is not None:
            was_answer = self._guessed and splitter.held_answer(reason)
            truncated = (truncated or splitter.truncated) and not was_answer
        stats.reasoning_truncated = truncated
        stats.reasoning_was_answer = was_answer

    def _split(self, content: str) -> list[Event]:
        splitter = self._splitter
        if splitter is None:
            splitter = self._splitter = ThinkSplitter(assume_thinking=self._assume)
        return _events(splitter.feed(content))


def _events(deltas: list[Delta]) -> list[Event]:
    return [Reasoning(d.text) if d.kind == "reasoning" else Content(d.text) for d in deltas]

"""ThinkSplitter: inline ``<think>…</think>`` tags -> reasoning / content deltas.

DeepSeek-R1 and its distills write their trace into the answer text when the server has no
reasoning parser (Ollama's "old behaviour", vLLM without ``--reasoning-parser``, llama.cpp with
``--reasoning-format none``; protocols.md A.1 and C). This module turns that text back into the
two streams every backend yields.

Whitespace rules, fixed so every backend shows the same thing:

* whitespace before the opening ``<think>`` is dropped;
* whitespace at the start of the trace (R1 writes ``<think>\\n``) is dropped;
* whitespace at the end of the trace is kept as it came: holding it back would stall the live
  trace on every newline, and a renderer ignores it anyway;
* whitespace at the start of the answer (R1 writes ``</think>\\n\\n``) is dropped;
* text that does not start with a trace is left exactly as it came, whitespace included.

Whitespace means ``str.isspace``, as ``str.lstrip`` sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"

_BEFORE = "before"  # nothing decided yet: a trace may still open
_TRACE = "trace"
_ANSWER = "answer"  # everything from here on is literal content

DeltaKind = Literal["reasoning", "content"]


@dataclass(frozen=True, slots=True)
class Delta:
    kind: DeltaKind
    text: str


class ThinkSplitter:
    """Split streamed text with inline think tags into reasoning and content deltas.

    Only a trace at the very start of the text counts (after whitespace). With
    ``assume_thinking=True`` the text is taken to start inside the trace even without the opening
    tag, because templates that pre-fill ``<think>\\n`` in the prompt make the model emit only the
    closing one (protocols.md A.1, "missing opening tag"). Once the trace is closed, or once the
    text has shown it has none, later tags are literal answer text: models quote them when asked
    about their own format.
    """

    def __init__(self, assume_thinking: bool = False) -> None:
        self.assume_thinking = assume_thinking
        self.truncated = False
        self.saw_tags = False
        self.in_reasoning = assume_thinking
        self._state = _BEFORE
        self._pending = ""  # text not yet emitted: only ever a possible tag start or whitespace
        self._trace_has_text = False
        self._strip_answer_start = False
        self._closed = False

    def feed(self, text: str) -> list[Delta]:
        if self._closed:
            raise ValueError("ThinkSplitter.feed() called after close()")
        self._pending += text
        out: list[Delta] = []
        self._advance(out, final=False)
        return out

    def close(self) -> list[Delta]:
        """Flush what was held back; an open trace is reported as ``truncated``."""
        if self._closed:
            return []
        self._closed = True
        out: list[Delta] = []
        self._advance(out, final=True)
        # Whatever is left is whitespace the rules above drop, except text that never became a
        # trace: that is the answer, exactly as it came.
        if self._pending and self._state == _BEFORE and not self.assume_thinking:
            _emit(out, "content", self._pending)
        self._pending = ""
        # An assumed trace that never received a character was not cut off: there was nothing.
        self.truncated = self._state == _TRACE and (self.saw_tags or self._trace_has_text)
        return out

    def held_answer(self, finish_reason: str | None) -> bool:
        """After ``close()``: was the assumed trace really the whole answer?

        Used when ``assume_thinking`` was a guess from the model's name or capability. A server
        that parses thinking itself sends an R1 model's answer-only reply (empty trace) as plain
        content; a real trace that never closed ends by running out of room (``length``), not by
        a normal ``stop``. So: no tag seen at all, and a normal stop, means it was the answer.
        """
        return self.assume_thinking and not self.saw_tags and finish_reason == "stop"

    def _advance(self, out: list[Delta], *, final: bool) -> None:
        while self._pending:
            if self._state == _BEFORE:
                if not self._decide_start(final):
                    return
            elif self._state == _TRACE:
                if not self._advance_trace(out, final):
                    return
            else:
                if self._strip_answer_start:
                    self._pending = self._pending.lstrip()
                    if not self._pending:
                        return
                    self._strip_answer_start = False
                _emit(out, "content", self._pending)
                self._pending = ""

    def _decide_start(self, final: bool) -> bool:
        """Leave the undecided state if the text so far allows it; False means wait for more."""
        stripped = self._pending.lstrip()
        if not stripped:
            return False
        if stripped.startswith(OPEN_TAG):
            self._pending = stripped[len(OPEN_TAG):]
            self.saw_tags = True
            self._enter_trace()
            return True
        if OPEN_TAG.startswith(stripped) and not final:
            return False
        if self.assume_thinking:
            self._pending = stripped
            self._enter_trace()
        else:
            self._state = _ANSWER
            self.in_reasoning = False
        return True

    def _enter_trace(self) -> None:
        self._state = _TRACE
        self.in_reasoning = True

    def _advance_trace(self, out: list[Delta], final: bool) -> bool:
        if not self._trace_has_text:
            self._pending = self._pending.lstrip()
            if not self._pending:
                return False
        end = self._pending.find(CLOSE_TAG)
        if end >= 0:
            self._emit_reasoning(out, self._pending[:end])
            self._pending = self._pending[end + len(CLOSE_TAG):]
            self.saw_tags = True
            self.in_reasoning = False
            self._state = _ANSWER
            self._strip_answer_start = True
            return True
        keep = 0 if final else _partial_tag_length(self._pending, CLOSE_TAG)
        self._emit_reasoning(out, self._pending[: len(self._pending) - keep])
        self._pending = self._pending[len(self._pending) - keep:]
        return False

    def _emit_reasoning(self, out: list[Delta], text: str) -> None:
        if text:
            self._trace_has_text = True
            _emit(out, "reasoning", text)


def _partial_tag_length(text: str, tag: str) -> int:
    """Length of the longest end of ``text`` that could still grow into ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


def _emit(out: list[Delta], kind: DeltaKind, text: str) -> None:
    if not text:
        return
    if out and out[-1].kind == kind:
        out[-1] = Delta(kind, out[-1].text + text)
    else:
        out.append(Delta(kind, text))

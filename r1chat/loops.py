"""Loop guard: notice when a streaming trace or answer keeps repeating the same passage.

Small R1 distills, at low temperature above all, fall into loops: the same few sentences
again and again until the token limit. ``LoopDetector`` watches the stream as it arrives.

It cuts the text into sentences (a unit ends at ``.``, ``!``, ``?``, ``:``, ``;`` followed by a
space, or at a newline), keeps a hash of each, and follows only the *candidate periods*: the
distances back to the previous occurrence of a sentence just seen. A passage of ``p`` sentences
repeated ``r`` times in a row is a run of ``p * (r - 1)`` sentences each equal to the one ``p``
before it. The work per streamed piece is proportional to the piece's length plus, once per
finished sentence, the number of periods still matching (a handful): it does not grow with the
length of the trace (measured by ``tests/benchmarks/loops_and_latex.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Where a sentence ends: closing punctuation and a space, or a line break.
_END = re.compile(r"[.!?:;](?=\s)|\n")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Loop:
    """The same passage ``repeats`` times in a row (its first occurrence counted)."""

    repeats: int
    sentences: int  # sentences in the passage
    passage: str  # the passage, normalised (one line), cut to a readable length

    def describe(self) -> str:
        return f"the same passage {self.repeats} times in a row"


class LoopDetector:
    """Feed it the stream piece by piece; ``feed`` says when a loop appears or grows.

    ``min_repeats``: copies in a row before a loop is reported (3: said twice may be emphasis).
    ``min_chars``: a passage shorter than this is not a loop ("Wait." three times is not).
    ``window``: sentences remembered; a passage longer than about half of it is not seen.
    """

    MAX_CANDIDATES = 32

    def __init__(self, *, min_repeats: int = 3, min_chars: int = 40, window: int = 2048) -> None:
        self.min_repeats = min_repeats
        self.min_chars = min_chars
        self.window = window
        self._partial: list[str] = []  # pieces of the sentence being written
        self._hashes: list[int] = []  # of the sentences kept, oldest first
        self._lengths: list[int] = []
        self._texts: list[str] = []
        self._base = 0  # the absolute index of _hashes[0]
        self._last_seen: dict[int, int] = {}  # hash -> absolute index of its latest sentence
        self._runs: dict[int, int] = {}  # period -> sentences in a row equal to the one period back
        self.current: Loop | None = None  # the loop under way, if any
        self.worst: Loop | None = None  # the most repeats seen so far in this stream

    def feed(self, text: str) -> Loop | None:
        """Take a streamed piece; returns a ``Loop`` when one starts or repeats once more."""
        found = None
        start = 0
        if self._partial and text[:1].isspace() and self._partial[-1][-1:] in ".!?:;":
            found = self._sentence_done()  # the piece before ended on the punctuation
        for match in _END.finditer(text):
            self._partial.append(text[start : match.end()])
            start = match.end()
            found = self._sentence_done() or found
        if start < len(text):
            self._partial.append(text[start:])
        return found

    def close(self) -> Loop | None:
        return self._sentence_done() if self._partial else None

    def _sentence_done(self) -> Loop | None:
        sentence = _SPACES.sub(" ", "".join(self._partial)).strip().lower()
        self._partial.clear()
        if not sentence:
            return None
        index = self._base + len(self._hashes)
        key = hash(sentence)
        hashes = self._hashes
        runs = self._runs
        for period in list(runs):
            back = index - period - self._base
            if back >= 0 and hashes[back] == key:
                runs[period] += 1
            else:
                del runs[period]
        previous = self._last_seen.get(key)
        if previous is not None and (period := index - previous) not in runs and period <= self.window // 2:
            if len(runs) < self.MAX_CANDIDATES:
                runs[period] = 1
        self._last_seen[key] = index
        hashes.append(key)
        self._lengths.append(len(sentence))
        self._texts.append(sentence[:200])
        if len(hashes) > 2 * self.window:
            self._forget()
        return self._judge()

    def _forget(self) -> None:
        drop = len(self._hashes) - self.window
        del self._hashes[:drop], self._lengths[:drop], self._texts[:drop]
        self._base += drop
        self._last_seen = {k: i for k, i in self._last_seen.items() if i >= self._base}

    def _judge(self) -> Loop | None:
        best: Loop | None = None
        for period, run in self._runs.items():
            repeats = 1 + run // period
            if repeats < self.min_repeats:
                continue
            first = len(self._hashes) - period
            if sum(self._lengths[first:]) < self.min_chars:
                continue
            if best is None or repeats > best.repeats:
                # The passage as it first came round: the period's sentences, in order.
                start = len(self._hashes) - run - period
                passage = " ".join(self._texts[start : start + period])
                best = Loop(repeats, period, passage[:160])
        previous = self.current
        self.current = best
        if best is None:
            return None
        if self.worst is None or best.repeats > self.worst.repeats:
            self.worst = best
        if previous is None or best.repeats > previous.repeats:
            return best
        return None

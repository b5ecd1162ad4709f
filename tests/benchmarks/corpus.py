"""The long turn the streaming benchmarks send: a reasoning trace and a Markdown answer.

Sizes are in the fake servers' tokens (``tests.servers.generation.pieces``: a word or up to five
characters), because the fakes send exactly one token per stream chunk. The answer has what makes
Markdown expensive to stream: headings, paragraphs with inline styles, bullet and numbered lists,
Python code blocks and tables. The text is the same on every run (a seeded generator).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from tests.servers.generation import pieces

SUBJECTS = [
    "the cache", "the parser", "the event loop", "the request", "the index", "the queue",
    "the retry policy", "the token budget", "the schema", "the migration", "the worker pool",
    "the socket", "the buffer", "the config file", "the benchmark", "the lock",
]
VERBS = ["grows", "blocks", "fails", "returns early", "drops a row", "times out", "repeats", "stalls"]
TRACE_OPENERS = [
    "Okay, so the user wants to know why {s} {v}.",
    "Let me think about {s} first.",
    "Wait, that is not right: {s} only {v} when {t} is full.",
    "Hmm, maybe {s} {v} because {t} is shared.",
    "So if {s} {v}, then {t} has to wait, which explains the delay.",
    "Let me check that again with a small example of {s}.",
    "Actually, {t} could be the real cause here, not {s}.",
    "I should also mention that {s} {v} under load, roughly 3 times in 100 runs.",
    "Putting it together: fix {s}, then measure {t} again.",
]
WORDS = ["it", "is", "done", "and", "the", "rest", "is", "a", "matter", "of", "taste", "so", "we", "stop"]


def _trace_paragraphs(rng: random.Random) -> Iterator[str]:
    while True:
        sentences = []
        for _ in range(rng.randint(3, 7)):
            s, t = rng.sample(SUBJECTS, 2)
            sentences.append(rng.choice(TRACE_OPENERS).format(s=s, t=t, v=rng.choice(VERBS)))
        yield " ".join(sentences)


def _name(rng: random.Random) -> str:
    return rng.choice(SUBJECTS).removeprefix("the ").replace(" ", "_")


def _paragraph(rng: random.Random) -> str:
    s, t = rng.sample(SUBJECTS, 2)
    return (
        f"The short version: **{s} {rng.choice(VERBS)}** when *{t}* is under pressure. "
        f"You can see it in `{_name(rng)}.stats()`, which reports a spike every few seconds. "
        f"Keep {t} small, and {s} stops being the bottleneck; a `timeout={rng.randint(1, 30)}` "
        f"on each call keeps one slow caller from holding everyone else up."
    )


def _bullets(rng: random.Random) -> str:
    items = [f"- **{_name(rng)}**: {rng.choice(SUBJECTS)} {rng.choice(VERBS)}, so check `{_name(rng)}`"
             for _ in range(rng.randint(3, 6))]
    return "\n".join(items)


def _numbered(rng: random.Random) -> str:
    steps = [f"{n}. Measure {rng.choice(SUBJECTS)}, then change one setting and measure again."
             for n in range(1, rng.randint(4, 6))]
    return "\n".join(steps)


def _code(rng: random.Random) -> str:
    name = _name(rng)
    lines = [
        "```python",
        "import time",
        "",
        f"def measure_{name}(calls: int = {rng.randint(10, 500)}) -> float:",
        f'    """How long {rng.choice(SUBJECTS)} takes, on average."""',
        "    started = time.perf_counter()",
        "    for attempt in range(calls):",
    ]
    for n in range(rng.randint(4, 16)):
        lines.append(f"        value_{n} = {name}.step(attempt, limit={rng.randint(1, 99)})  # {rng.choice(VERBS)}")
    lines += ["    return (time.perf_counter() - started) / calls", "```"]
    return "\n".join(lines)


def _table(rng: random.Random) -> str:
    rows = ["| Setting | Before | After | Note |", "|---|---:|---:|---|"]
    for _ in range(rng.randint(3, 6)):
        before = rng.randint(100, 999)
        rows.append(f"| `{_name(rng)}` | {before} ms | {before // rng.randint(2, 9)} ms | {rng.choice(VERBS)} less |")
    return "\n".join(rows)


def _answer_blocks(rng: random.Random) -> Iterator[str]:
    section = 0
    shapes: list[Callable[[random.Random], str]] = [_paragraph, _bullets, _code, _paragraph, _table, _numbered]
    while True:
        section += 1
        yield f"## {section}. What to do about {rng.choice(SUBJECTS)}"
        for shape in shapes:
            yield shape(rng)


def _exactly(blocks: Iterator[str], tokens: int) -> str:
    """Blocks joined by blank lines, then a closing paragraph that makes exactly ``tokens``."""
    text, count = "", 0
    for block in blocks:
        piece = block if not text else "\n\n" + block
        n = len(pieces(piece))
        if count + n > tokens - 2:
            break
        text, count = text + piece, count + n
    # Short words (with their leading space, never cut in two) are one token each.
    filler = [("\n\n" if text else "") + "So"] + [f" {WORDS[i % len(WORDS)]}" for i in range(tokens - count - 1)]
    text += "".join(filler[: tokens - count]) if tokens > count else ""
    assert len(pieces(text)) == tokens, (len(pieces(text)), tokens)
    return text


def long_turn(tokens: int, reasoning_share: float = 0.6, seed: int = 8) -> tuple[str, str]:
    """(reasoning, answer) of ``tokens`` tokens in all, the trace ``reasoning_share`` of them."""
    rng = random.Random(seed)
    reasoning_tokens = round(tokens * reasoning_share)
    reasoning = _exactly(_trace_paragraphs(rng), reasoning_tokens)
    answer = _exactly(_answer_blocks(rng), tokens - reasoning_tokens)
    return reasoning, answer


def r1_text(chars: int, *, answer: bool = False, seed: int = 8) -> str:
    """About ``chars`` characters of trace (or of Markdown answer), cut at the end of a word."""
    rng = random.Random(seed)
    blocks = _answer_blocks(rng) if answer else _trace_paragraphs(rng)
    parts, size = [], 0
    while size < chars:
        block = next(blocks)
        parts.append(block)
        size += len(block) + 2
    text = "\n\n".join(parts)[:chars]
    return text[: text.rfind(" ")] if " " in text else text

"""What the loop guard and the LaTeX-to-text stream cost per streamed piece, early and late in a
long trace (the cost must not grow with the trace).

    python -m tests.benchmarks.loops_and_latex [--tokens 20000]

Prints microseconds per piece for the first and the last 2,000 pieces of a ``--tokens`` trace
(the streaming benchmark's corpus), for ``LoopDetector.feed`` and ``ReadableStream.feed``.
"""

from __future__ import annotations

import argparse
import time

from r1chat.latex import ReadableStream
from r1chat.loops import LoopDetector
from tests.benchmarks.corpus import long_turn
from tests.servers.generation import pieces

SAMPLE = 2000


def per_piece(feed, chunks: list[str]) -> tuple[float, float]:
    """µs per piece over the first and the last SAMPLE pieces of one pass over ``chunks``."""
    timings = []
    clock = time.perf_counter_ns
    for chunk in chunks:
        started = clock()
        feed(chunk)
        timings.append(clock() - started)
    first, last = timings[:SAMPLE], timings[-SAMPLE:]
    return sum(first) / len(first) / 1000, sum(last) / len(last) / 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=20_000)
    tokens = parser.parse_args().tokens
    reasoning, answer = long_turn(tokens, reasoning_share=1.0)
    chunks = pieces(reasoning + answer)
    math = r"So \( \frac{a+1}{2} \cdot x^{2} \) and $\alpha_1 \times \sqrt{b}$ gives \boxed{42}. "
    math_chunks = pieces(reasoning[: len(reasoning) // 2] + math * 200 + reasoning[len(reasoning) // 2 :])
    print(f"{len(chunks):,} pieces ({tokens:,}-token trace)")
    for name, make, data in [
        ("LoopDetector.feed", LoopDetector, chunks),
        ("ReadableStream.feed", ReadableStream, chunks),
        ("ReadableStream.feed, math-heavy", ReadableStream, math_chunks),
    ]:
        first, last = per_piece(make().feed, data)
        print(f"{name:34} first {SAMPLE:,}: {first:5.2f} µs/piece   last {SAMPLE:,}: {last:5.2f} µs/piece")


if __name__ == "__main__":
    main()

"""What the search index costs and buys: streaming saves, search-as-you-type, the history list.

    python -m tests.benchmarks.store_search [--conversations 1000] [--turns 5]

Builds a database of N conversations with T turns each (a prompt, and an answer with a trace of
2-40 kB of English-like text), through the real Store, then prints medians.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import random
import statistics
import tempfile
import time
from pathlib import Path

from r1chat import store as store_module
from r1chat.conversation import Conversation, Message, MessageStatus, Role
from r1chat.store import Store

_COMMON = (
    "the of and to a in is that it for on with as this be are or so wait let me think about we then "
    "but if not can what which first check again right answer because number step maybe"
).split()


def _vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 11))) for _ in range(size)]


def _text(rng: random.Random, words: list[str], weights: list[float], size: int) -> str:
    # Zipf-like: a few words very often, most rarely; about 7 characters a word with its space.
    count = max(1, size // 7)
    rare = iter(rng.choices(words, cum_weights=weights, k=count))
    text = " ".join(rng.choice(_COMMON) if rng.random() < 0.45 else next(rare) for _ in range(count))
    return text[:size]


def _median_ms(action, repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def streaming_save_cost(directory: Path, trace_size: int = 20_000, saves: int = 300) -> dict[str, float]:
    """Milliseconds per save of a streaming answer whose trace grows to ``trace_size``."""
    rng = random.Random(1)
    words = _vocabulary(rng)
    weights = list(itertools.accumulate(1 / (n + 1) for n in range(len(words))))
    trace = _text(rng, words, weights, trace_size)
    result = {}
    for label, fts in (("no index", False), ("with index", True)):
        original = store_module.fts5_available
        store_module.fts5_available = lambda fts=fts: fts
        try:
            store = Store(directory / f"save-{label}.db")
            conversation = Conversation(title="t")
            store.add_message(conversation, Message(Role.USER, "p"))
            answer = Message(Role.ASSISTANT, status=MessageStatus.STREAMING)
            store.add_message(conversation, answer)
            last = []
            for n in range(1, saves + 1):
                answer.reasoning = trace[: len(trace) * n // saves]
                start = time.perf_counter()
                store.save_message(answer)
                if n > saves * 0.9:
                    last.append(time.perf_counter() - start)
            answer.status, answer.content = MessageStatus.DONE, "the answer"
            start = time.perf_counter()
            store.save_message(answer)
            result[f"streaming save near {trace_size // 1000} kB, {label}"] = 1000 * statistics.median(last)
            result[f"final save (indexes {trace_size // 1000} kB), {label}"] = 1000 * (time.perf_counter() - start)
            store.close()
        finally:
            store_module.fts5_available = original
    return result


def build(path: Path, conversations: int, turns: int) -> tuple[Store, float]:
    rng = random.Random(7)
    words = _vocabulary(rng)
    weights = list(itertools.accumulate(1 / (n + 1) for n in range(len(words))))
    store = Store(path)
    start = time.perf_counter()
    for _ in range(conversations):
        conversation = Conversation(title=_text(rng, words, weights, 40))
        for _ in range(turns):
            store.add_message(conversation, Message(Role.USER, _text(rng, words, weights, rng.randint(20, 400))))
            store.add_message(
                conversation,
                Message(
                    Role.ASSISTANT,
                    _text(rng, words, weights, rng.randint(200, 3000)),
                    reasoning=_text(rng, words, weights, rng.randint(2_000, 40_000)),
                    model=rng.choice(["deepseek-r1:8b", "deepseek-r1:14b", "qwq"]),
                ),
            )
    return store, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        for name, ms in streaming_save_cost(directory).items():
            print(f"{name:50} {ms:8.2f} ms")

        store, seconds = build(directory / "big.db", args.conversations, args.turns)
        db = store._db
        messages = db.execute("SELECT count(*) FROM messages").fetchone()[0]
        text = db.execute("SELECT sum(length(content) + length(reasoning)) FROM messages").fetchone()[0]
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = (directory / "big.db").stat().st_size
        index = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search_%'").fetchone()[0]
        print(
            f"{args.conversations} conversations, {messages} messages, {text / 1e6:.0f} MB of text:"
            f" built in {seconds:.0f} s, file {size / 1e6:.0f} MB of which the index {index / 1e6:.0f} MB"
        )
        common = db.execute("SELECT title FROM conversations LIMIT 1").fetchone()[0].split()
        queries = {
            "one rare word": common[-1],
            "a common word ('think')": "think",
            "one letter as typed ('t')": "t",
            "two letters as typed ('th')": "th",
            "three words": "let me check",
            "no match": "zzzzzzzzzz",
        }
        for label, query in queries.items():
            hits = len(store.search(query))
            median = _median_ms(functools.partial(store.search, query))
            print(f"search {label:42} {median:8.1f} ms  ({hits} hits, 1 per conversation)")
        print(f"search {'t, every hit (per_conversation=None)':42} "
              f"{_median_ms(lambda: store.search('t', per_conversation=None)):8.1f} ms")
        print(f"{'list_conversations(limit=100)':49} {_median_ms(lambda: store.list_conversations(100)):8.1f} ms")
        print(f"{'list_conversations(limit=all)':49} "
              f"{_median_ms(lambda: store.list_conversations(args.conversations)):8.1f} ms")
        store.close()


if __name__ == "__main__":
    main()

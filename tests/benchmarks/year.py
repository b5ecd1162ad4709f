"""A year of use: a database of 10,000 conversations, 200,000 messages and about 1 GB of text.

The database is written straight into a store that ``r1chat.store.Store`` created (so its schema
and full-text index are the app's own; the triggers index every row as it goes in), in one
transaction, from a pool of generated paragraphs: prompts of 20-600 characters, traces and
answers of log-normal lengths (medians about 6 kB and 1.5 kB, up to 60 kB), a few conversations
about quaternion rotation and a rare word in five messages. It is built once and kept under
``$XDG_CACHE_HOME/r1chat-bench/`` (``~/.cache``), named after the generator's version and the
store's schema; the app opens it there through a link from its isolated data directory. The
short mode builds a small one in a temporary directory instead, never the large one.

Figures: the first usable frame with it against an empty database (alternating, as start-up
does); ctrl+g to the history list drawn; the list's highlight under a held ↓ key (30 a second),
each key to the frame that shows it; ``quaternion rotation`` typed one key every ``KEY_GAP``
into the history screen's search, each key to the frame with its results (a key whose results
never showed, because a newer key came first, counts as missed); ``r1chat history -s`` for a
rare and for a common word, wall time; and the full-text index's pages (SQLite's dbstat, all
the FTS5 tables) against the UTF-8 bytes of the titles, prompts, answers and traces it covers.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from tests.benchmarks.figures import Figure, Target, median
from tests.benchmarks.live import Log, percentile
from tests.benchmarks.plan import PROMPT_MARKER, Plan, probe_command, r1chat_command
from tests.benchmarks.pty_app import PtyApp, TempHome, isolated_env
from tests.benchmarks.timed_server import TimedOllama

YEAR_FRAME = Target("year DB: first usable frame vs empty DB", 1.2, "x")
HISTORY_OPEN = Target("year DB: history screen open, newest first", 150.0, "ms")
HISTORY_SCROLL = Target("year DB: history list, held ↓ key to frame p95", 50.0, "ms")
SEARCH_KEYS = Target("year DB: search as typed, key to results p95", 100.0, "ms")
CLI_RARE = Target("year DB: r1chat history -s, a rare word", 0.3, "s")
CLI_COMMON = Target("year DB: r1chat history -s, a common word", 0.8, "s")
INDEX_RATIO = Target("year DB: full-text index vs the text it covers", 1.5, "x")
TARGETS = [YEAR_FRAME, HISTORY_OPEN, HISTORY_SCROLL, SEARCH_KEYS, CLI_RARE, CLI_COMMON, INDEX_RATIO]

GENERATOR = 1  # bump when what is generated changes: the cached database is built again
FULL = (10_000, 200_000)  # conversations, messages
SHORT = (100, 1_000)
SEARCHED = "quaternion rotation"
RARE, COMMON = "zeugmatic", "think"
KEY_GAP = 0.15  # seconds between two keys typed into the search
SCROLL_KEYS, SCROLL_GAP = 60, 1 / 30
DOWN = b"\x1b[B"

_COMMON = (
    "the of and to a in is that it for on with as this be are or so wait let me think about we then "
    "but if not can what which first check again right answer because number step maybe"
).split()
_TOPIC = ("To rotate the vector I use a quaternion rotation: q v q* with a unit quaternion, which avoids "
          "gimbal lock; the quaternion for an angle about an axis is cos half the angle plus the axis "
          "times sin half the angle.")


def _paragraphs(rng: random.Random, count: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(3, 11))) for _ in range(20_000)]
    weights = [1 / (n + 1) for n in range(len(words))]
    out = []
    for _ in range(count):
        n = rng.randint(40, 140)
        rare = iter(rng.choices(words, weights=weights, k=n))
        text = " ".join(rng.choice(_COMMON) if rng.random() < 0.45 else next(rare) for _ in range(n))
        out.append(text[0].upper() + text[1:] + ".")
    return out


def _text(rng: random.Random, pool: list[str], size: int) -> str:
    parts, length = [], 0
    while length < size:
        part = rng.choice(pool)
        parts.append(part)
        length += len(part) + 2
    return "\n\n".join(parts)[:size]


def _lognormal(rng: random.Random, median_size: float, low: int, high: int) -> int:
    return int(min(max(rng.lognormvariate(math.log(median_size), 0.8), low), high))


def build(path: Path, conversations: int, messages: int, seed: int = 24) -> None:
    """Write the database at ``path`` (a new file)."""
    from r1chat.store import Store

    Store(path).close()  # the app's schema, migrations and index
    rng = random.Random(seed)
    pool = _paragraphs(rng, 3000)
    turns = messages // conversations // 2
    topic = set(rng.sample(range(conversations), max(3, conversations // 60)))
    rare = set(rng.sample(range(conversations * turns), 5))
    db = sqlite3.connect(path, isolation_level=None)
    # A throwaway file until it is whole: no journal to write it all twice (WAL again at the end).
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("BEGIN")
    year, start = 365 * 86400.0, time.time() - 365 * 86400.0
    message_id = 0
    for c in range(conversations):
        clock = start + year * c / conversations
        first = _text(rng, pool, rng.randint(20, 600))
        if c in topic:
            first = f"How does a quaternion rotation work? {first}"
        db.execute("INSERT INTO conversations (id, title, provider, model, created_at, updated_at)"
                   " VALUES (?, ?, 'ollama', 'deepseek-r1:8b', ?, ?)",
                   (c + 1, " ".join(first.split()[:8])[:60], clock, clock + 60 * turns))
        for t in range(turns):
            prompt = first if t == 0 else _text(rng, pool, rng.randint(20, 600))
            trace = _text(rng, pool, _lognormal(rng, 6_000, 300, 60_000))
            answer = _text(rng, pool, _lognormal(rng, 1_500, 100, 12_000))
            if c in topic and rng.random() < 0.5:
                answer = f"{_TOPIC}\n\n{answer}"
            if c * turns + t in rare:
                trace = f"{trace} A {RARE} turn of phrase."
            message_id += 2
            at = clock + 60 * t
            db.execute("INSERT INTO messages (id, conversation_id, role, content, status, created_at, exchange_id)"
                       " VALUES (?, ?, 'user', ?, 'done', ?, ?)", (message_id - 1, c + 1, prompt, at, message_id - 1))
            db.execute(
                "INSERT INTO messages (id, conversation_id, role, content, reasoning, status, model, provider,"
                " created_at, reasoning_started_at, reasoning_ended_at, first_token_at, finished_at, stats,"
                " exchange_id, reply_to) VALUES (?, ?, 'assistant', ?, ?, 'done', 'deepseek-r1:8b', 'ollama',"
                " ?, ?, ?, ?, ?, '{}', ?, ?)",
                (message_id, c + 1, answer, trace, at + 1, at + 1.5, at + 30, at + 1.5, at + 40,
                 message_id - 1, message_id - 1),
            )
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode = WAL")
    db.close()


def cached_database(plan: Plan, scratch: Path) -> tuple[Path, str]:
    """The database to measure (built now if need be) and how it came about."""
    from r1chat.store import SCHEMA

    conversations, messages = FULL if plan.year else SHORT
    if not plan.year:
        path = scratch / "small.db"
        started = time.perf_counter()
        build(path, conversations, messages)
        return path, f"built in {time.perf_counter() - started:.0f} s"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "r1chat-bench"
    path = cache / f"year-g{GENERATOR}-s{SCHEMA}.db"
    if path.exists():
        return path, "cached"
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob("year-*.db*"):  # an older generator's or schema's
        old.unlink()
    partial = path.with_suffix(".partial")
    for leftover in cache.glob(partial.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    build(partial, conversations, messages)
    partial.rename(path)
    return path, f"built in {time.perf_counter() - started:.0f} s"


def _linked_home(home: Path, database: Path | None) -> dict[str, str]:
    env = isolated_env(home)
    if database is not None:
        data = Path(env["XDG_DATA_HOME"]) / "r1chat"
        data.mkdir(parents=True, exist_ok=True)
        (data / "r1chat.db").symlink_to(database)
    return env


def _first_frame(command: list[str], env: dict[str, str]) -> float:
    with PtyApp(command, env) as app:
        return app.wait_for(PROMPT_MARKER, timeout=60)


def first_frames(plan: Plan, database: Path, server: TimedOllama) -> Figure:
    command = [*r1chat_command(), *server.app_args()]
    with TempHome() as empty_home, TempHome() as year_home:
        empty, year = isolated_env(empty_home), _linked_home(year_home, database)
        _first_frame(command, empty), _first_frame(command, year)  # warm the file cache
        pairs = [(_first_frame(command, empty), _first_frame(command, year)) for _ in range(plan.runs * 2)]
    bare, ours = median([e for e, _ in pairs]), median([y for _, y in pairs])
    return YEAR_FRAME.measured(ours / bare, f"{ours:.3f} s vs {bare:.3f} s, median of {len(pairs)}; 120x40 pty")


def _history(app: PtyApp, log: Log, opened: int) -> tuple[float, float]:
    """Seconds from ctrl+g to the list drawn, and the app's CPU seconds meanwhile."""
    cpu = app.cpu_seconds()
    pressed = time.perf_counter()
    app.write(b"\x07")  # ctrl+g
    event = log.wait("filled", opened, 30, app)[-1]
    if event["query"]:
        raise RuntimeError(f"the history opened on a search for {event['query']!r}")
    return event["t"] - pressed, event["cpu"] - cpu


def in_history(plan: Plan, database: Path, server: TimedOllama) -> list[Figure]:
    opens, scrolls, searches, open_cpu = [], [], [], []
    missed = 0
    with TempHome() as home:
        log = Log(home / "log.jsonl")
        env = _linked_home(home, database)
        with PtyApp(probe_command("log", str(log.path), "--", *server.app_args()), env) as app:
            app.wait_for(PROMPT_MARKER, timeout=60)
            time.sleep(0.5)
            for _ in range(plan.runs):
                seconds, cpu = _history(app, log, len(log.events("filled")) + 1)
                opens.append(seconds)
                open_cpu.append(cpu)
                # A held key: the terminal repeats it 30 times a second.
                moved = len(log.events("moved"))
                written = []
                for n in range(SCROLL_KEYS):
                    written.append(time.perf_counter())
                    app.write(DOWN)
                    time.sleep(max(0.0, written[0] + (n + 1) * SCROLL_GAP - time.perf_counter()))
                events = log.wait("moved", moved + SCROLL_KEYS, 30, app)[moved:]
                scrolls += [1000 * (e["t"] - w) for e, w in zip(events, written, strict=True)]
                # Search, a key at a time.
                written = []
                for n, char in enumerate(SEARCHED):
                    written.append(time.perf_counter())
                    app.write(char.encode())
                    time.sleep(max(0.0, written[0] + (n + 1) * KEY_GAP - time.perf_counter()))
                deadline = time.monotonic() + 30
                while not any(e["query"] == SEARCHED for e in log.events("filled") if e["t"] >= written[0]):
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the results for {SEARCHED!r} never showed")
                    time.sleep(0.05)
                filled = [e for e in log.events("filled") if e["t"] >= written[0]]
                for n, w in enumerate(written):
                    # The results for this key, or (when a newer key came first) for a later one.
                    shown = [e["t"] for e in filled if len(e["query"]) >= len(SEARCHED[: n + 1].strip())
                             and e["query"] == SEARCHED[: len(e["query"])] and e["t"] >= w]
                    searches.append(1000 * (shown[0] - w) if shown else math.inf)
                    missed += not any(e["query"] == SEARCHED[: n + 1].strip() for e in filled)
                if not any(e["query"] == SEARCHED and e["rows"] for e in filled):
                    raise RuntimeError(f"no results for {SEARCHED!r}")
                app.write(b"\x1b")  # back to the chat screen
                time.sleep(0.5)
    if any(math.isinf(s) for s in searches):
        raise RuntimeError(f"the search's results stopped showing: {searches}")
    return [
        HISTORY_OPEN.measured(1000 * median(opens), f"ctrl+g to the list drawn (app CPU meanwhile "
                              f"{1000 * median(open_cpu):.0f} ms, first open {1000 * opens[0]:.0f} ms); "
                              f"median of {len(opens)}"),
        HISTORY_SCROLL.measured(
            percentile(scrolls, 0.95),
            f"{SCROLL_KEYS} ↓ {SCROLL_GAP * 1000:.0f} ms apart, each key to the frame with the highlight moved: "
            f"p50 {percentile(scrolls, 0.5):.0f} ms, max {max(scrolls):.0f} ms; {plan.runs} run(s)",
        ),
        SEARCH_KEYS.measured(
            percentile(searches, 0.95),
            f"{SEARCHED!r} a key every {KEY_GAP * 1000:.0f} ms, key to its results (or a later key's) drawn: "
            f"p50 {percentile(searches, 0.5):.0f} ms, max {max(searches):.0f} ms; {missed} of {len(searches)} "
            f"keys had no results of their own (a newer key came first); {plan.runs} run(s)",
        ),
    ]


def cli_search(plan: Plan, database: Path) -> list[Figure]:
    figures = []
    with TempHome() as home:
        env = _linked_home(home, database)
        for target, word in ((CLI_RARE, RARE), (CLI_COMMON, COMMON)):
            times, out = [], ""
            for _ in range(plan.runs * 3 + 1):
                started = time.perf_counter()
                run = subprocess.run([*r1chat_command(), "history", "-s", word], env=env, capture_output=True,
                                     text=True, timeout=120)
                times.append(time.perf_counter() - started)
                out = run.stdout
                if run.returncode != 0 or word not in out.lower():
                    raise RuntimeError(f"history -s {word} failed ({run.returncode}): {run.stderr[-500:]}")
            times = times[1:]  # the first warmed the file cache
            figures.append(target.measured(
                median(times), f"{word!r}, {len(out.splitlines())} lines out; wall, median of {len(times)}"))
    return figures


def index_size(database: Path, how: str) -> Figure:
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        index = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search\\_%' ESCAPE '\\'").fetchone()[0]
        text = db.execute(
            "SELECT sum(length(CAST(content AS BLOB)) + length(CAST(reasoning AS BLOB))) FROM messages"
            " WHERE status != 'streaming' AND role != 'system'").fetchone()[0]
        text += db.execute("SELECT sum(length(CAST(title AS BLOB))) FROM conversations").fetchone()[0]
        counts = db.execute("SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages)").fetchone()
    finally:
        db.close()
    return INDEX_RATIO.measured(
        index / text,
        f"FTS5 tables' pages {index / 1e6:,.0f} MB vs {text / 1e6:,.0f} MB of indexed text (UTF-8); "
        f"{counts[0]:,} conversations, {counts[1]:,} messages, file {database.stat().st_size / 1e6:,.0f} MB; {how}",
    )


def measure(plan: Plan) -> list[Figure]:
    scratch = Path(tempfile.mkdtemp(prefix="r1chat-year-"))
    try:
        database, how = cached_database(plan, scratch)
        figures: list[Figure] = []
        with TimedOllama("Fine.", "Yes.") as server:
            # Each part on its own: one that fails leaves the others' figures measured.
            parts = [
                (lambda: [first_frames(plan, database, server)], [YEAR_FRAME]),
                (lambda: in_history(plan, database, server), [HISTORY_OPEN, HISTORY_SCROLL, SEARCH_KEYS]),
                (lambda: cli_search(plan, database), [CLI_RARE, CLI_COMMON]),
                (lambda: [index_size(database, how)], [INDEX_RATIO]),
            ]
            for part, targets in parts:
                try:
                    figures += part()
                except Exception as exc:  # noqa: BLE001 - reported in the table, and in full on stderr
                    traceback.print_exc(file=sys.stderr)
                    figures += [target.failed(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
                                for target in targets]
        return figures
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

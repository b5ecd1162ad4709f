"""``r1chat doctor``: check the database, and save what can be read of a damaged one.

Users have no ``sqlite3`` shell, so the salvage is plain Python. A fresh file gets its schema
from the store's own code; rows are copied table by table in ranges of row ids, and a range
that cannot be read is halved until the unreadable rows are alone, so one damaged page costs
only the rows on it. The search index is not copied: the fresh file's triggers index each row
as it is copied. The damaged file is renamed aside, never deleted, and only once the fresh one
is completely written and checked.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from r1chat.conversation import title_from_prompt
from r1chat.store import SCHEMA, Store, StoreError

# The tables that hold what the user has; the search index is built again from them.
TABLES = ("conversations", "messages", "drafts", "eval_runs", "eval_samples")
# Row ids read in one query; a range that fails is halved.
CHUNK = 512
# integrity_check stops after this many problems: enough to say what is wrong.
MOST_PROBLEMS = 20


@dataclass(slots=True)
class TableSalvage:
    name: str
    copied: int = 0
    # Rows known to exist (from an index) that could not be read; None when no index could say.
    lost: int | None = 0


@dataclass(slots=True)
class Salvage:
    """What ``salvage`` found and did."""

    path: Path
    problems: list[str]
    tables: list[TableSalvage] = field(default_factory=list)
    # Conversations made again for messages whose conversation row was lost.
    rebuilt: int = 0
    # Where the damaged file now is (None: nothing was damaged, nothing changed).
    kept_at: Path | None = None


def _read_only(path: Path) -> sqlite3.Connection:
    # mode=ro: reading never writes, not even the checkpoint a last connection makes on close.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)


def problems(path: Path) -> list[str]:
    """What SQLite's integrity check finds wrong (one line each), [] when the file is sound."""
    try:
        db = _read_only(path)
    except sqlite3.Error as exc:
        return [str(exc)]
    try:
        rows = [row[0] for row in db.execute(f"PRAGMA integrity_check({MOST_PROBLEMS})")]
    except sqlite3.DatabaseError as exc:  # a page so damaged the check itself stops on it
        return [str(exc)]
    finally:
        db.close()
    if rows == ["ok"]:
        return []
    return [line for row in rows for line in str(row).splitlines() if line and not line.startswith("***")]


def salvage(path: Path) -> Salvage:
    """Check ``path``; when damaged, copy what can be read into a fresh database that takes its
    place, the damaged file kept beside it. Raises StoreError when that cannot be done (nothing
    is changed then)."""
    found = Salvage(path, problems(path))
    if not found.problems:
        return found
    stamp = time.strftime("%Y%m%d-%H%M%S")
    fresh = path.with_name(f"{path.name}.salvage-{stamp}")
    try:
        _remove(fresh)  # a salvage cut off earlier this second
        Store(fresh).close()  # the schema as this r1chat writes it
        source = _read_only(path)
        try:
            version = _version(source)
            if version is not None and version > SCHEMA:
                raise StoreError(
                    f"The database was written by a newer r1chat (schema {version}); use that r1chat's doctor."
                )
            target = sqlite3.connect(fresh, isolation_level=None)
            try:
                target.execute("BEGIN")
                for table in TABLES:
                    if table in _tables(source):
                        found.tables.append(_copy(source, target, table))
                found.rebuilt = _rebuild_lost_conversations(target)
                target.execute("COMMIT")
                check = target.execute("PRAGMA integrity_check").fetchone()[0]
                if check != "ok":
                    raise StoreError(f"The fresh copy {fresh} fails its own check ({check})")
            finally:
                target.close()
        finally:
            source.close()
    except (OSError, sqlite3.Error) as exc:
        _remove(fresh)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StoreError(f"Could not save what is readable of {path} into a fresh file ({reason}); nothing was changed.") from exc
    except StoreError:
        _remove(fresh)
        raise
    found.kept_at = _swap(path, fresh, stamp)
    return found


def _version(db: sqlite3.Connection) -> int | None:
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError:
        return None


def _tables(db: sqlite3.Connection) -> set[str]:
    try:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:
        return set()


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def _indexed_ids(db: sqlite3.Connection, table: str) -> set[int] | None:
    """The row ids an index of ``table`` lists: an index lives on pages of its own, so it can
    say which rows existed when the table's pages are damaged."""
    try:
        indexes = [row[1] for row in db.execute(f"PRAGMA index_list({table})")]
    except sqlite3.DatabaseError:
        return None
    for index in indexes:
        try:
            return {row[0] for row in db.execute(f"SELECT rowid FROM {table} INDEXED BY {index}")}
        except sqlite3.DatabaseError:
            continue
    return None


def _known_between(known: set[int], low: int, high: int) -> int:
    return sum(1 for rowid in known if low <= rowid <= high)


def _bounds(db: sqlite3.Connection, table: str, known: set[int] | None) -> tuple[int, int] | None:
    """The lowest and highest row id to read, from the table or else from an index."""
    try:
        low, high = db.execute(f"SELECT min(rowid), max(rowid) FROM {table}").fetchone()
        if low is None and not known:
            return 0, -1  # empty: nothing to read, nothing lost
    except sqlite3.DatabaseError:
        low = high = None
    if known:
        low = min(known) if low is None else min(low, min(known))
        high = max(known) if high is None else max(high, max(known))
    return None if low is None or high is None else (int(low), int(high))


def _copy(source: sqlite3.Connection, target: sqlite3.Connection, table: str) -> TableSalvage:
    result = TableSalvage(table)
    wanted = set(_columns(target, table))
    columns = [c for c in _columns(source, table) if c in wanted]
    names = ", ".join(columns)
    select = f"SELECT rowid, {names} FROM {table} WHERE rowid BETWEEN ? AND ?"
    insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
    known = _indexed_ids(source, table)
    bounds = _bounds(source, table, known)
    copied: set[int] = set()
    unreadable = 0

    def copy_range(low: int, high: int) -> None:
        nonlocal unreadable
        try:
            rows = source.execute(select, (low, high)).fetchall()
        except sqlite3.DatabaseError:
            rows = None
        # A damaged page can also end a read early without an error: rows an index lists are missing.
        short = rows is not None and known is not None and len(rows) < _known_between(known, low, high)
        if rows is None or short and low < high:
            if low == high:
                unreadable += 1
                return
            middle = (low + high) // 2
            copy_range(low, middle)
            copy_range(middle + 1, high)
            return
        target.executemany(insert, [row[1:] for row in rows])
        copied.update(row[0] for row in rows)

    if bounds is not None:
        low, high = bounds
        for start in range(low, high + 1, CHUNK):
            copy_range(start, min(start + CHUNK - 1, high))
    result.copied = len(copied)
    if known is not None:
        result.lost = len(known - copied)
    elif unreadable or bounds is None:
        result.lost = None  # rows were unreadable, and nothing can say how many there were
    return result


def _rebuild_lost_conversations(db: sqlite3.Connection) -> int:
    """Messages whose conversation row was lost get a conversation again, titled after their
    first prompt, so the history still lists them."""
    orphans = db.execute(
        "SELECT conversation_id, min(created_at), max(created_at) FROM messages"
        " WHERE conversation_id NOT IN (SELECT id FROM conversations) GROUP BY conversation_id"
    ).fetchall()
    for conversation_id, first, last in orphans:
        prompt = db.execute(
            "SELECT content FROM messages WHERE conversation_id = ? AND role = 'user' ORDER BY id LIMIT 1",
            (conversation_id,),
        ).fetchone()
        title = title_from_prompt(prompt[0]) if prompt else ""
        db.execute(
            "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (conversation_id, f"(recovered) {title}".strip(), first, last),
        )
    return len(orphans)


def _swap(path: Path, fresh: Path, stamp: str) -> Path:
    """Rename the damaged file (and its log) aside, then the fresh one into its place. The
    fresh file is whole before this starts, so at every moment both are on disk."""
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    try:
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{path}{suffix}")
            if source.exists():
                source.rename(Path(f"{aside}{suffix}"))
        os.replace(fresh, path)
    except OSError as exc:
        raise StoreError(
            f"Saved what is readable into {fresh}, but could not put it in place of {path} "
            f"({exc.strerror or exc}); the damaged file is at {aside if aside.exists() else path}."
        ) from exc
    return aside


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

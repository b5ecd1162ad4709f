"""SQLite storage for conversations and messages: the one place that writes the database.

WAL mode and a generous busy timeout let two r1chat processes write at once without
"database is locked"; every write is one short ``BEGIN IMMEDIATE`` transaction. The schema moves
forward through ``PRAGMA user_version`` migrations.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from r1chat.backends.base import TurnStats
from r1chat.conversation import Conversation, Message, MessageStatus, Role

DB_NAME = "r1chat.db"

_SCHEMA_1 = """
CREATE TABLE conversations (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL DEFAULT '',
    provider    TEXT,
    model       TEXT,
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);
CREATE TABLE messages (
    id                    INTEGER PRIMARY KEY,
    conversation_id       INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role                  TEXT NOT NULL,
    content               TEXT NOT NULL DEFAULT '',
    reasoning             TEXT NOT NULL DEFAULT '',
    status                TEXT NOT NULL,
    model                 TEXT,
    provider              TEXT,
    error                 TEXT,
    created_at            REAL NOT NULL,
    reasoning_started_at  REAL,
    reasoning_ended_at    REAL,
    first_token_at        REAL,
    finished_at           REAL,
    stats                 TEXT NOT NULL DEFAULT '{}',
    writer_pid            INTEGER
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
CREATE INDEX messages_by_status ON messages (status);
CREATE INDEX conversations_by_update ON conversations (updated_at);
"""



def _run_script(db: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it commits first, and a migration must run inside its transaction.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


# Each entry takes the database from version N to N+1.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    lambda db: _run_script(db, _SCHEMA_1),
]


class StoreError(Exception):
    """The database cannot be used (unwritable directory, full disk, ...)."""


@dataclass(slots=True)
class ConversationSummary:
    id: int
    title: str
    provider: str | None
    model: str | None
    created_at: float
    updated_at: float
    message_count: int


def default_path() -> Path:
    from r1chat.config import data_dir

    return data_dir() / DB_NAME


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        # Set when a database that could not be opened was moved out of the way.
        self.moved_aside: Path | None = None
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"Cannot create the data directory {self.path.parent}: {exc.strerror or exc}") from exc
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            if not self.path.exists() or isinstance(exc, sqlite3.OperationalError) and not _is_corruption(exc):
                raise StoreError(f"Cannot open the database {self.path}: {exc}") from exc
            self.moved_aside = self._move_aside()
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            self._migrate(db)
            db.execute("SELECT count(*) FROM messages").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _move_aside(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(str(self.path) + suffix)
            if source.exists():
                source.rename(Path(str(target) + suffix))
        return target

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"The database was written by a newer r1chat (schema {version}); upgrade r1chat to open it."
            )
        for number in range(version, len(MIGRATIONS)):
            db.execute("BEGIN IMMEDIATE")
            try:
                # A second process may have migrated while we waited for the lock.
                if db.execute("PRAGMA user_version").fetchone()[0] != number:
                    db.execute("ROLLBACK")
                    continue
                MIGRATIONS[number](db)
                db.execute(f"PRAGMA user_version = {number + 1}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"Cannot write to {self.path}: {exc}") from exc
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    # A full disk or a read-only file: say where, keep the caller's objects.
                    raise StoreError(f"Cannot write to {self.path}: {exc}") from exc
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- conversations -----------------------------------------------------------------------

    def create_conversation(self, conversation: Conversation) -> int:
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO conversations (title, provider, model, settings, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    conversation.title,
                    conversation.provider,
                    conversation.model,
                    json.dumps(conversation.settings),
                    conversation.created_at,
                    conversation.updated_at,
                ),
            )
        conversation.id = cursor.lastrowid
        return conversation.id

    def update_conversation(self, conversation: Conversation) -> None:
        conversation.updated_at = time.time()
        with self._write() as db:
            db.execute(
                "UPDATE conversations SET title = ?, provider = ?, model = ?, settings = ?, updated_at = ?"
                " WHERE id = ?",
                (
                    conversation.title,
                    conversation.provider,
                    conversation.model,
                    json.dumps(conversation.settings),
                    conversation.updated_at,
                    conversation.id,
                ),
            )

    def delete_conversation(self, conversation_id: int) -> None:
        with self._write() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def load_conversation(self, conversation_id: int) -> Conversation | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            if row is None:
                return None
            rows = self._db.execute(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
            ).fetchall()
        return Conversation(
            id=row["id"],
            title=row["title"],
            provider=row["provider"],
            model=row["model"],
            settings=json.loads(row["settings"] or "{}"),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            messages=[_message_from_row(r) for r in rows],
        )

    def latest_conversation_id(self) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT id FROM conversations ORDER BY updated_at DESC, id DESC LIMIT 1").fetchone()
        return row["id"] if row else None

    def list_conversations(self, limit: int = 100) -> list[ConversationSummary]:
        with self._lock:
            rows = self._db.execute(
                "SELECT c.*, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS n"
                " FROM conversations c ORDER BY c.updated_at DESC, c.id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            ConversationSummary(
                r["id"], r["title"], r["provider"], r["model"], r["created_at"], r["updated_at"], r["n"]
            )
            for r in rows
        ]

    # --- messages ----------------------------------------------------------------------------

    def add_message(self, conversation: Conversation, message: Message) -> int:
        if conversation.id is None:
            self.create_conversation(conversation)
        message.conversation_id = conversation.id
        if message.status is MessageStatus.STREAMING:
            message.writer_pid = os.getpid()
        conversation.updated_at = time.time()
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO messages (conversation_id, role, status, created_at) VALUES (?, ?, ?, ?)",
                (conversation.id, str(message.role), str(message.status), message.created_at),
            )
            message.id = cursor.lastrowid
            self._update_message(db, message)
        return message.id

    def save_message(self, message: Message) -> None:
        """Write the message's current text, status, timings and stats."""
        if message.id is None:
            raise ValueError("save_message needs a message that was added first")
        if message.status is not MessageStatus.STREAMING:
            message.writer_pid = None
        with self._write() as db:
            self._update_message(db, message)

    @staticmethod
    def _update_message(db: sqlite3.Connection, message: Message) -> None:
        db.execute(
            "UPDATE messages SET content = ?, reasoning = ?, status = ?, model = ?, provider = ?, error = ?,"
            " reasoning_started_at = ?, reasoning_ended_at = ?, first_token_at = ?, finished_at = ?,"
            " stats = ?, writer_pid = ? WHERE id = ?",
            (
                message.content,
                message.reasoning,
                str(message.status),
                message.model,
                message.provider,
                message.error,
                message.reasoning_started_at,
                message.reasoning_ended_at,
                message.first_token_at,
                message.finished_at,
                json.dumps(message.stats.to_dict()),
                message.writer_pid,
                message.id,
            ),
        )
        db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (time.time(), message.conversation_id))

    def delete_messages(self, ids: list[int]) -> None:
        """Remove messages the user chose to replace (a regenerated or edited turn)."""
        if not ids:
            return
        with self._write() as db:
            db.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in ids])

    def recover_interrupted(self) -> int:
        """Mark messages left ``streaming`` by a dead process as ``interrupted``; keep their text.

        A message whose writer is still alive (another r1chat window) is left alone.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT id, writer_pid FROM messages WHERE status = ?", (str(MessageStatus.STREAMING),)
            ).fetchall()
        orphans = [
            r["id"]
            for r in rows
            if r["writer_pid"] is None or (r["writer_pid"] != os.getpid() and not _pid_alive(r["writer_pid"]))
        ]
        if not orphans:
            return 0
        with self._write() as db:
            db.executemany(
                "UPDATE messages SET status = ?, writer_pid = NULL,"
                " error = coalesce(error, 'The app stopped while this answer was streaming.')"
                " WHERE id = ? AND status = ?",
                [(str(MessageStatus.INTERRUPTED), i, str(MessageStatus.STREAMING)) for i in orphans],
            )
        return len(orphans)


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return any(s in text for s in ("not a database", "malformed", "corrupt", "disk image"))


def _message_from_row(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"],
        conversation_id=row["conversation_id"],
        role=Role(row["role"]),
        content=row["content"],
        reasoning=row["reasoning"],
        status=MessageStatus(row["status"]),
        model=row["model"],
        provider=row["provider"],
        error=row["error"],
        created_at=row["created_at"],
        reasoning_started_at=row["reasoning_started_at"],
        reasoning_ended_at=row["reasoning_ended_at"],
        first_token_at=row["first_token_at"],
        finished_at=row["finished_at"],
        stats=TurnStats.from_dict(json.loads(row["stats"] or "{}")),
        writer_pid=row["writer_pid"],
    )

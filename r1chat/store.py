"""SQLite storage for conversations and messages: the one place that writes the database.

WAL mode and a generous busy timeout let two r1chat processes write at once without
"database is locked"; every write is one short ``BEGIN IMMEDIATE`` transaction. The schema moves
forward through ``PRAGMA user_version`` migrations. Titles, prompts, answers and traces are
searchable through an FTS5 index kept in step by triggers (``LIKE`` where SQLite lacks FTS5).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from r1chat.backends.base import TurnStats
from r1chat.conversation import (
    APP_STOPPED,
    AttachmentPart,
    Conversation,
    Exchange,
    Message,
    MessageStatus,
    Part,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    clean_title,
    part_from_dict,
    part_to_dict,
    title_from_prompt,
)
from r1chat.search import SearchHit, fts_query, ranked, search_index, search_like, search_terms

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

# External-content FTS5 tables: the index only, the text stays in conversations and messages.
# A message is indexed once it stops streaming. Re-indexing on every streaming save (one a
# second) cost ~2.5 ms for a 20 kB trace and left the index ~1.8x larger; this way a streaming
# save costs the same as without an index, and the text is searchable as soon as the turn ends
# (or, after a crash, as soon as the next start marks it interrupted).
# Prefix indexes for the first 1-3 letters make search-as-you-type fast from the first key: "t*"
# over 1,000 long messages ranked in 24 ms and marked 50 traces in 550 ms without them, 4 and
# 34 ms with them. They make the index about 2.9 times larger (about 1.4 times the text).
_TOKENIZER = "unicode61 remove_diacritics 2"
_INDEXED = "{row}.status != 'streaming' AND {row}.role != 'system'"
_SEARCH_TABLES = {
    "search_titles": f"CREATE VIRTUAL TABLE search_titles USING fts5("
    f"title, content='conversations', content_rowid='id', prefix='1 2 3', tokenize='{_TOKENIZER}')",
    # `tools`: the text of an answer's tool calls and results (migration 7), found like its answer.
    "search_messages": f"CREATE VIRTUAL TABLE search_messages USING fts5("
    f"content, reasoning, tools, content='messages', content_rowid='id', prefix='1 2 3', tokenize='{_TOKENIZER}')",
}
_ADD_MESSAGE = (
    "INSERT INTO search_messages (rowid, content, reasoning, tools) SELECT new.id, new.content, new.reasoning, new.tools"
)
_DROP_MESSAGE = (
    "INSERT INTO search_messages (search_messages, rowid, content, reasoning, tools)"
    " SELECT 'delete', old.id, old.content, old.reasoning, old.tools"
)
_SEARCH_TRIGGERS = {
    "search_titles_insert": "CREATE TRIGGER search_titles_insert AFTER INSERT ON conversations BEGIN"
    " INSERT INTO search_titles (rowid, title) VALUES (new.id, new.title); END",
    "search_titles_delete": "CREATE TRIGGER search_titles_delete AFTER DELETE ON conversations BEGIN"
    " INSERT INTO search_titles (search_titles, rowid, title) VALUES ('delete', old.id, old.title); END",
    "search_titles_update": "CREATE TRIGGER search_titles_update AFTER UPDATE OF title ON conversations"
    " WHEN old.title IS NOT new.title BEGIN"
    " INSERT INTO search_titles (search_titles, rowid, title) VALUES ('delete', old.id, old.title);"
    " INSERT INTO search_titles (rowid, title) VALUES (new.id, new.title); END",
    "search_messages_insert": "CREATE TRIGGER search_messages_insert AFTER INSERT ON messages"
    f" WHEN {_INDEXED.format(row='new')} BEGIN {_ADD_MESSAGE}; END",
    "search_messages_delete": "CREATE TRIGGER search_messages_delete AFTER DELETE ON messages"
    f" WHEN {_INDEXED.format(row='old')} BEGIN {_DROP_MESSAGE}; END",
    # Fires on every save (the columns are always in the SET list); does nothing while streaming.
    "search_messages_update": "CREATE TRIGGER search_messages_update AFTER UPDATE OF content, reasoning, tools, status"
    " ON messages WHEN NOT (old.status IS new.status AND old.content IS new.content"
    " AND old.reasoning IS new.reasoning AND old.tools IS new.tools) BEGIN"
    f" {_DROP_MESSAGE} WHERE {_INDEXED.format(row='old')};"
    f" {_ADD_MESSAGE} WHERE {_INDEXED.format(row='new')}; END",
}


@cache
def fts5_available() -> bool:
    """Whether this Python's SQLite has FTS5 (nearly all builds do)."""
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE probe USING fts5(text)")
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()
    return True


def _search_objects(db: sqlite3.Connection) -> set[str]:
    wanted = [*_SEARCH_TABLES, *_SEARCH_TRIGGERS]
    marks = ", ".join("?" * len(wanted))
    return {r[0] for r in db.execute(f"SELECT name FROM sqlite_master WHERE name IN ({marks})", wanted)}


def _build_search_index(db: sqlite3.Connection) -> None:
    """(Re)create the FTS5 tables and triggers and index every row; runs inside a transaction."""
    for trigger in _SEARCH_TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for table, create in _SEARCH_TABLES.items():
        db.execute(f"DROP TABLE IF EXISTS {table}")
        db.execute(create)
    db.execute("INSERT INTO search_titles (rowid, title) SELECT id, title FROM conversations")
    db.execute(
        "INSERT INTO search_messages (rowid, content, reasoning, tools) SELECT id, content, reasoning, tools FROM messages"
        f" WHERE {_INDEXED.format(row='messages')}"
    )
    for create in _SEARCH_TRIGGERS.values():
        db.execute(create)


def _migration_2(db: sqlite3.Connection) -> None:
    # The history list shows the models of each conversation without reading its messages' text.
    # (This step also built the search index; the index as it is now is built by _migration_5.)
    db.execute("CREATE INDEX messages_models ON messages (conversation_id, role, model)")


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it commits first, and a migration must run inside its transaction.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _migration_3(db: sqlite3.Connection) -> None:
    # Versions of an exchange (retry, edit: nothing is deleted) and a message's typed parts. Rows
    # written before keep NULL exchange and prompt (Conversation.exchanges derives them from the
    # order, as they were written) and count as current: no row is rewritten, so a year of
    # traces migrates at once.
    for column in ("exchange_id INTEGER", "reply_to INTEGER", "current INTEGER NOT NULL DEFAULT 1", "parts TEXT"):
        db.execute(f"ALTER TABLE messages ADD COLUMN {column}")


def _migration_4(db: sqlite3.Connection) -> None:
    # What was typed and not sent, one per conversation (0: the new one, not stored yet). No
    # foreign key, as 0 is no conversation; a trigger drops a deleted conversation's draft.
    db.execute(
        "CREATE TABLE drafts (conversation_id INTEGER PRIMARY KEY, text TEXT NOT NULL, updated_at REAL NOT NULL)"
    )
    db.execute(
        "CREATE TRIGGER drafts_of_deleted AFTER DELETE ON conversations BEGIN"
        " DELETE FROM drafts WHERE conversation_id = old.id; END"
    )
    # Before each turn the engine asks whether another window changed the conversation
    # (conversation_mark); read from this index alone that takes about 5 ms for 5,000 messages of
    # 3.5 kB each, against 39 ms reading their rows.
    db.execute("CREATE INDEX messages_versions ON messages (conversation_id, current, status)")


def _images_table(db: sqlite3.Connection) -> None:
    # Attached images, once each by the SHA-256 of their bytes: a message's parts name the digest,
    # so a picture sent in ten conversations (or kept in later turns) is stored once.
    db.execute(
        "CREATE TABLE images (digest TEXT PRIMARY KEY, media_type TEXT NOT NULL, data BLOB NOT NULL,"
        " created_at REAL NOT NULL)"
    )


_EVAL_TABLES = """
CREATE TABLE eval_runs (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL,
    model       TEXT NOT NULL,
    provider    TEXT NOT NULL,
    samples     INTEGER NOT NULL,
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  REAL NOT NULL
);
CREATE INDEX eval_runs_by_key ON eval_runs (key, id);
CREATE TABLE eval_samples (
    run_id      INTEGER NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
    problem     TEXT NOT NULL,
    sample      INTEGER NOT NULL,
    result      TEXT NOT NULL,
    PRIMARY KEY (run_id, problem, sample)
);
"""


def _migration_6(db: sqlite3.Connection) -> None:
    # Compare turns: each answer knows its column (NULL for every other message). Eval runs and
    # their graded samples live in tables of their own, apart from conversations: not in the
    # history list, not in search (r1chat/evals.py).
    db.execute("ALTER TABLE messages ADD COLUMN compare_column INTEGER")
    _run_script(db, _EVAL_TABLES)


def _migration_7(db: sqlite3.Connection) -> None:
    # Tool calls and results are searchable: their text in a column of its own, indexed with the
    # answer's. No stored message has tool parts before this version, so no row is rewritten.
    db.execute("ALTER TABLE messages ADD COLUMN tools TEXT")
    if fts5_available():
        _build_search_index(db)


# Each entry takes the database from version N to N+1.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    lambda db: _run_script(db, _SCHEMA_1),
    _migration_2,
    _migration_3,
    _migration_4,
    _images_table,  # 5
    _migration_6,
    _migration_7,
]
SCHEMA = len(MIGRATIONS)
# Where the copy made before a migration goes, beside the database.
BACKUP_DIR = "backups"


_WRITE_HINT = " Is the disk full, or the folder read-only? Free some space (or fix the permissions) and try again"


class StoreError(Exception):
    """The database cannot be used (unwritable directory, full disk, ...)."""


class SearchCancelled(Exception):
    """A search was stopped by its ``cancel`` event (a newer one replaced it)."""


class DamagedStore(StoreError):
    """A page of the database cannot be read. Nothing is changed on disk: ``r1chat doctor``
    checks the file and saves what can be read into a fresh one."""

    def __init__(self, path: Path, exc: sqlite3.DatabaseError) -> None:
        super().__init__(
            f"The database {path} is damaged ({exc}); nothing was changed. "
            "Run 'r1chat doctor' to check it and save what can still be read."
        )


class _NoCopy(Exception):
    """The copy to keep before a migration could not be written: the migration did not run."""


@dataclass(slots=True)
class ConversationSummary:
    """One row of the history list."""

    id: int
    title: str
    provider: str | None
    # The model the next turn would use.
    model: str | None
    created_at: float
    # The last change: a message added or saved, the model or settings changed (not a rename).
    updated_at: float
    message_count: int
    # Every model that answered in it, in the order they first did.
    models: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "provider": self.provider,
            "model": self.model,
            "models": list(self.models),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "message_count": self.message_count,
        }


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


def _use_wal(db: sqlite3.Connection, patience: float = 30.0) -> None:
    """Switch to write-ahead logging. Switching needs the file to itself for a moment, and SQLite
    answers "locked" at once instead of waiting as the busy timeout says: two windows opening a
    new database together met it. Try again until the same patience is spent."""
    deadline = time.monotonic() + patience
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        # Set when a database that could not be opened was moved out of the way.
        self.moved_aside: Path | None = None
        # Set when the database is open read-only, saying why (a migration found no room for its copy).
        self.read_only: str | None = None
        # The copy kept before the last migration, when this open migrated.
        self.upgraded_copy: Path | None = None
        # Messages whose latest save failed (a full disk), by id: kept to be written whole by the
        # next save that works, or at exit to a recovery file.
        self.unsaved: dict[int, Message] = {}
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"Cannot create the data directory {self.path.parent}: {exc.strerror or exc}") from exc
        try:
            self._db = self._open()
        except _NoCopy as exc:
            self._db = self._open_read_only(str(exc))
        except sqlite3.DatabaseError as exc:
            if not self.path.exists() or isinstance(exc, sqlite3.OperationalError) and not _is_corruption(exc):
                raise StoreError(f"Cannot open the database {self.path}: {exc}.{_WRITE_HINT}") from exc
            try:
                self.moved_aside = self._move_aside()
                self._db = self._open()
            except (OSError, sqlite3.Error) as again:
                raise StoreError(
                    f"Cannot open the database {self.path} ({exc}) nor start a fresh one: {again}"
                ) from again

    @property
    def open_notice(self) -> str | None:
        """What to tell the user once after opening, or None: the CLI prints it, the UI shows it."""
        if self.read_only is not None:
            return self.read_only
        if self.moved_aside is None:
            return None
        return f"The database could not be opened and was moved to {self.moved_aside}; starting with a fresh one."

    @property
    def upgrade_notice(self) -> str | None:
        """One line after a migration: where the copy of the database as it was is kept."""
        if self.upgraded_copy is None:
            return None
        return f"Upgraded the database to this version of r1chat; a copy of it as it was is kept at {self.upgraded_copy}"

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout = 30000")
        return db

    def _open(self) -> sqlite3.Connection:
        db = self._connect()
        try:
            _use_wal(db)
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            self._migrate(db)
            db.execute("SELECT count(*) FROM messages").fetchone()
            self._full_text = self._check_search_index(db)
        except BaseException:
            db.close()
            raise
        return db

    def _open_read_only(self, why: str) -> sqlite3.Connection:
        """Open without writing anything, so what is stored can still be read."""
        try:
            db = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False, timeout=30.0
            )
            db.row_factory = sqlite3.Row
            db.execute("SELECT count(*) FROM messages").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"{why} It cannot be read either: {exc}") from exc
        self.read_only = why
        self._full_text = len(_search_objects(db)) == len(_SEARCH_TABLES) + len(_SEARCH_TRIGGERS)
        return db

    def _move_aside(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(str(self.path) + suffix)
            if source.exists():
                source.rename(Path(str(target) + suffix))
        return target

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Bring the schema to ``SCHEMA``, in one transaction.

        A database that holds anything is first copied whole (SQLite's backup API, so what is still
        in the write-ahead log is in the copy too) into ``backups/`` beside it, while a second
        connection holds the write lock: nothing can change between the copy and the migration, and
        another r1chat opening the file meanwhile waits, then finds it migrated. No copy, no
        migration: the database then opens read-only.
        """
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA:
            raise StoreError(
                f"The database was written by a newer r1chat (schema {version}); upgrade r1chat to open it."
            )
        if version == SCHEMA:
            return
        lock = self._connect()
        try:
            lock.execute("BEGIN IMMEDIATE")
            # A second process may have migrated while we waited for the lock.
            version = lock.execute("PRAGMA user_version").fetchone()[0]
            copy = None
            if version < SCHEMA:
                copy = self._copy_before_migrating(db, version) if version > 0 else None
                for number in range(version, SCHEMA):
                    MIGRATIONS[number](lock)
                lock.execute(f"PRAGMA user_version = {SCHEMA}")
            lock.execute("COMMIT")
            self.upgraded_copy = copy
        except BaseException:
            if lock.in_transaction:  # SQLite may have rolled back itself (a full disk)
                lock.execute("ROLLBACK")
            raise
        finally:
            lock.close()

    def _copy_before_migrating(self, db: sqlite3.Connection, version: int) -> Path:
        folder = self.path.parent / BACKUP_DIR
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = folder / f"{self.path.stem}-schema{version}-{stamp}.db"
        for number in range(2, 100):
            if not target.exists():
                break
            target = folder / f"{self.path.stem}-schema{version}-{stamp}-{number}.db"
        partial = target.with_name(target.name + ".part")
        try:
            folder.mkdir(exist_ok=True)
            copy = sqlite3.connect(partial)
            try:
                db.backup(copy)
            finally:
                copy.close()
            os.replace(partial, target)
        except (OSError, sqlite3.Error) as exc:
            with contextlib.suppress(OSError):
                partial.unlink()
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise _NoCopy(
                f"The database {self.path} needs an upgrade, and the copy to keep first could not be written "
                f"in {folder} ({reason}): it is open read-only, and nothing new is saved until there is room."
            ) from exc
        return target

    @staticmethod
    def _check_search_index(db: sqlite3.Connection) -> bool:
        """Whether search can use FTS5; repairs the index when SQLite's abilities changed.

        A database made where SQLite lacked FTS5 gets its index when opened where it has it. Where
        it lacks FTS5, the triggers go (they would make every write fail) and come back, with
        the index rebuilt, the next time FTS5 is there.
        """
        complete = len(_search_objects(db)) == len(_SEARCH_TABLES) + len(_SEARCH_TRIGGERS)
        if fts5_available() == complete:
            return complete
        db.execute("BEGIN IMMEDIATE")
        try:
            present = _search_objects(db)  # another process may have repaired it meanwhile
            if fts5_available():
                if len(present) != len(_SEARCH_TABLES) + len(_SEARCH_TRIGGERS):
                    _build_search_index(db)
            else:
                for trigger in present & set(_SEARCH_TRIGGERS):
                    db.execute(f"DROP TRIGGER {trigger}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return fts5_available()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.read_only is not None:
            raise StoreError(
                f"Nothing can be saved: {self.path} is open read-only, as its upgrade could not copy it first. "
                "Make room for the copy, then start r1chat again."
            )
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"Cannot write to {self.path}: {exc}.{_WRITE_HINT}") from exc
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.DatabaseError) and _is_corruption(exc):
                    raise DamagedStore(self.path, exc) from exc
                if isinstance(exc, sqlite3.Error):
                    # A full disk or a read-only file: say where, keep the caller's objects.
                    raise StoreError(f"Cannot write to {self.path}: {exc}.{_WRITE_HINT}") from exc
                raise

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """Hold the connection for a read; a damaged page met on the way becomes a DamagedStore
        (nothing is written: the file stays as it is for ``r1chat doctor``)."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.DatabaseError as exc:
                if _is_corruption(exc):
                    raise DamagedStore(self.path, exc) from exc
                raise StoreError(f"Cannot read {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- conversations -----------------------------------------------------------------------

    def create_conversation(self, conversation: Conversation) -> int:
        with self._write() as db:
            conversation_id = self._insert_conversation(db, conversation)
        conversation.id = conversation_id
        return conversation_id

    @staticmethod
    def _insert_conversation(db: sqlite3.Connection, conversation: Conversation) -> int:
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
        assert cursor.lastrowid is not None  # sqlite3 sets it after every INSERT
        return cursor.lastrowid

    def update_conversation(self, conversation: Conversation) -> None:
        """Store the model, provider and settings; the title only if none is stored yet.

        A title changes through ``rename_conversation`` only, so a copy loaded before a rename
        (another window, the chat screen) cannot undo it; the copy gets the stored title back.
        """
        conversation.updated_at = time.time()
        with self._write() as db:
            db.execute(
                "UPDATE conversations SET title = CASE title WHEN '' THEN ? ELSE title END,"
                " provider = ?, model = ?, settings = ?, updated_at = ? WHERE id = ?",
                (
                    conversation.title,
                    conversation.provider,
                    conversation.model,
                    json.dumps(conversation.settings),
                    conversation.updated_at,
                    conversation.id,
                ),
            )
            row = db.execute("SELECT title FROM conversations WHERE id = ?", (conversation.id,)).fetchone()
        if row is not None:
            conversation.title = row["title"]

    def rename_conversation(self, conversation_id: int, title: str) -> str | None:
        """Set the title (one line); a blank one goes back to the title made from the first prompt.

        Returns the title stored, or None when there is no such conversation. The conversation
        keeps its place in the history: a rename does not change ``updated_at``.
        """
        with self._write() as db:
            title = clean_title(title)
            if not title:
                first = db.execute(
                    "SELECT content FROM messages WHERE conversation_id = ? AND role = ? ORDER BY id LIMIT 1",
                    (conversation_id, str(Role.USER)),
                ).fetchone()
                title = title_from_prompt(first["content"]) if first else ""
            cursor = db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))
        return title if cursor.rowcount else None

    def replace_title(self, conversation_id: int, expected: str, title: str) -> bool:
        """Set the title only while it is still ``expected``: a model's title arrives seconds
        after the answer, and must not undo a rename made meanwhile (here or in another window)."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND title = ?",
                (clean_title(title), conversation_id, expected),
            )
        return bool(cursor.rowcount)

    def delete_conversation(self, conversation_id: int) -> None:
        with self._write() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def load_conversation(self, conversation_id: int) -> Conversation | None:
        with self._reading():
            row = self._db.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            if row is None:
                return None
            rows = self._db.execute(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
            ).fetchall()
            messages = [_message_from_row(r) for r in rows]
            self._load_images(messages)
        return Conversation(
            id=row["id"],
            title=row["title"],
            provider=row["provider"],
            model=row["model"],
            settings=json.loads(row["settings"] or "{}"),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            messages=messages,
        )

    def _load_images(self, messages: list[Message]) -> None:
        """Fill the bytes of the messages' image attachments from the images table."""
        wanted = {p.digest: p for m in messages for p in m.parts if isinstance(p, AttachmentPart) and p.digest}
        if not wanted:
            return
        digests = list(wanted)
        try:
            found = self._db.execute(
                f"SELECT digest, data FROM images WHERE digest IN ({', '.join('?' * len(digests))})", digests
            ).fetchall()
        except sqlite3.OperationalError:
            return  # opened read-only before its migration: no images table yet
        data = {row["digest"]: bytes(row["data"]) for row in found}
        for message in messages:
            for part in message.parts:
                if isinstance(part, AttachmentPart) and part.digest in data:
                    part.data = data[part.digest]

    def latest_conversation_id(self) -> int | None:
        with self._reading():
            row = self._db.execute("SELECT id FROM conversations ORDER BY updated_at DESC, id DESC LIMIT 1").fetchone()
        return row["id"] if row else None

    def list_conversations(self, limit: int = 100, offset: int = 0) -> list[ConversationSummary]:
        """The history, most recently updated first; ``offset`` pages through it."""
        with self._reading():
            rows = self._db.execute(
                "SELECT c.id, c.title, c.provider, c.model, c.created_at, c.updated_at,"
                " (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS n,"
                " (SELECT group_concat(model, char(31)) FROM (SELECT model FROM messages m"
                "   WHERE m.conversation_id = c.id AND m.role = 'assistant' AND m.model IS NOT NULL"
                "   GROUP BY model ORDER BY min(m.id))) AS models"
                " FROM conversations c ORDER BY c.updated_at DESC, c.id DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [
            ConversationSummary(
                r["id"],
                r["title"],
                r["provider"],
                r["model"],
                r["created_at"],
                r["updated_at"],
                r["n"],
                tuple(r["models"].split("\x1f")) if r["models"] else (),
            )
            for r in rows
        ]

    # --- search ------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        limit: int = 50,
        *,
        per_conversation: int | None = 1,
        snippet_chars: int = 100,
        cancel: threading.Event | None = None,
    ) -> list[SearchHit]:
        """Conversations whose title, prompts, answers or traces hold every word of ``query``.

        ``query`` is whatever the user typed; it never raises for any text (FTS5 syntax in it is
        plain text) and the last word matches as a prefix. Best match first (bm25; answers and
        prompts weigh twice a trace), then the most recently updated. At most ``per_conversation``
        hits per conversation (None: all). A message is searchable once it stops streaming.
        Fewer than ``search.RANKED_FROM`` characters typed: the newest matches, unranked.

        ``cancel``, once set (from another thread: a newer keystroke), stops the query within a
        few milliseconds; the search then raises ``SearchCancelled`` and frees the database.
        """
        match = fts_query(query)
        if match is None or limit <= 0:
            return []
        with self._lock:
            if cancel is not None:
                # Asked every few thousand steps of SQLite's virtual machine: non-zero stops it.
                self._db.set_progress_handler(cancel.is_set, 2_000)
            self._db.execute("BEGIN")  # one snapshot for the ranking and the snippets
            try:
                if self._full_text:
                    return search_index(self._db, match, limit, per_conversation, snippet_chars, rank=ranked(query))
                return search_like(self._db, search_terms(query), limit, per_conversation, snippet_chars)
            except sqlite3.OperationalError as exc:
                if cancel is not None and cancel.is_set():
                    raise SearchCancelled(query) from exc
                raise StoreError(f"Cannot search {self.path}: {exc}") from exc
            except sqlite3.DatabaseError as exc:
                raise DamagedStore(self.path, exc) from exc
            finally:
                if cancel is not None:
                    self._db.set_progress_handler(None, 0)
                # A read: nothing to keep; after a damaged page SQLite may refuse the COMMIT.
                with contextlib.suppress(sqlite3.DatabaseError):
                    self._db.execute("COMMIT")

    # --- messages ----------------------------------------------------------------------------

    def add_message(self, conversation: Conversation, message: Message, *, answer: Message | None = None) -> int:
        """Store a new message, and ``answer`` (its empty answer) with it; a conversation not
        stored yet is stored with them. One transaction: a prompt the disk cannot take leaves
        nothing half stored (no empty conversation, no prompt without its answer)."""
        added = [message] if answer is None else [message, answer]
        before = [(m.id, m.exchange_id, m.reply_to) for m in added]
        conversation.updated_at = time.time()
        try:
            with self._write() as db:
                conversation_id = conversation.id
                if conversation_id is None:
                    conversation_id = self._insert_conversation(db, conversation)
                self._insert_message(db, conversation_id, message)
                if answer is not None:
                    answer.exchange_id, answer.reply_to = message.exchange_id, message.id
                    self._insert_message(db, conversation_id, answer)
        except BaseException:
            for m, (message_id, exchange_id, reply_to) in zip(added, before, strict=True):
                m.id, m.exchange_id, m.reply_to = message_id, exchange_id, reply_to
            raise
        conversation.id = conversation_id  # only once committed
        assert message.id is not None
        return message.id

    def _insert_message(self, db: sqlite3.Connection, conversation_id: int, message: Message) -> None:
        if message.status is MessageStatus.STREAMING:
            message.writer_pid = os.getpid()
        message.conversation_id = conversation_id
        cursor = db.execute(
            "INSERT INTO messages (conversation_id, role, status, created_at) VALUES (?, ?, ?, ?)",
            (conversation_id, str(message.role), str(message.status), message.created_at),
        )
        assert cursor.lastrowid is not None  # sqlite3 sets it after every INSERT
        message.id = cursor.lastrowid
        if message.role is Role.USER and message.exchange_id is None:
            message.exchange_id = message.id  # a new exchange is known by its first prompt
        self._update_message(db, message)

    def save_message(self, message: Message) -> None:
        """Write the message's current parts, status, timings and stats, and any message whose
        save failed before (a full disk): those are kept in ``unsaved`` until a save works."""
        if message.id is None:
            raise ValueError("save_message needs a message that was added first")
        if message.status is not MessageStatus.STREAMING:
            message.writer_pid = None
        with self._lock:
            self.unsaved[message.id] = message
            self.save_unsaved(raising=True)

    def save_unsaved(self, *, raising: bool = False) -> list[Message]:
        """Try again to write the messages whose save failed; those that still cannot be
        written. ``raising``: a failure raises StoreError instead."""
        with self._lock:
            if not self.unsaved:
                return []
            try:
                with self._write() as db:
                    for waiting in self.unsaved.values():
                        self._update_message(db, waiting)
            except StoreError:
                if raising:
                    raise
                return list(self.unsaved.values())
            self.unsaved.clear()
            return []

    @staticmethod
    def _update_message(db: sqlite3.Connection, message: Message) -> None:
        for part in message.parts:
            if isinstance(part, AttachmentPart) and part.digest and part.data is not None:
                db.execute(
                    "INSERT OR IGNORE INTO images (digest, media_type, data, created_at) VALUES (?, ?, ?, ?)",
                    (part.digest, part.media_type, part.data, time.time()),
                )
        db.execute(
            "UPDATE messages SET content = ?, reasoning = ?, status = ?, model = ?, provider = ?, error = ?,"
            " reasoning_started_at = ?, reasoning_ended_at = ?, first_token_at = ?, finished_at = ?,"
            " stats = ?, writer_pid = ?, exchange_id = ?, reply_to = ?, current = ?, parts = ?, compare_column = ?,"
            " tools = ? WHERE id = ?",
            (
                _content_column(message.parts),
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
                message.exchange_id,
                message.reply_to,
                int(message.current),
                _parts_layout(message.parts),
                message.column,
                tool_text(message.parts),
                message.id,
            ),
        )
        db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (time.time(), message.conversation_id))

    def make_current(self, exchange: Exchange, index: int) -> None:
        """Make version ``index`` the one shown and sent; the others stay stored as they are."""
        chosen = exchange.versions[index]
        members = {m.id: m for version in exchange.versions for m in version.messages if m.id is not None}
        current = {m.id for m in chosen.messages}
        key = exchange.id if exchange.id is not None else min(members, default=None)
        with self._write() as db:
            db.executemany(
                "UPDATE messages SET exchange_id = ?, current = ? WHERE id = ?",
                [(key, int(i in current), i) for i in members],
            )
        for message_id, message in members.items():
            message.exchange_id = key
            message.current = message_id in current
        exchange.current = index

    def recover_interrupted(self) -> int:
        """Mark messages left ``streaming`` by a dead process as ``interrupted``; keep their text.

        A message whose writer is still alive (another r1chat window) is left alone.
        """
        if self.read_only is not None:
            return 0
        with self._reading():
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
                " error = coalesce(error, ?) WHERE id = ? AND status = ?",
                [(str(MessageStatus.INTERRUPTED), APP_STOPPED, i, str(MessageStatus.STREAMING)) for i in orphans],
            )
        return len(orphans)

    # --- another window's turns --------------------------------------------------------------

    def conversation_mark(self, conversation_id: int) -> tuple[object, ...]:
        """What is stored of a conversation, in a few numbers that change when any window adds
        a message, finishes one, or makes another version current (a rename does not count)."""
        # The ids of the current messages add up to another sum when another version is current.
        with self._reading() as db:
            row = db.execute(
                "SELECT count(*), max(id), total(current * id), total(status = 'streaming') FROM messages"
                " WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
        return tuple(row)

    # --- drafts: what was typed and not sent ---------------------------------------------------

    def save_draft(self, conversation_id: int | None, text: str) -> None:
        """Keep ``text`` as the draft of a conversation (None: the new one); blank drops it."""
        key = conversation_id or NEW_CONVERSATION
        with self._write() as db:
            if text.strip():
                db.execute(
                    "INSERT INTO drafts (conversation_id, text, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (conversation_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at",
                    (key, text, time.time()),
                )
            else:
                db.execute("DELETE FROM drafts WHERE conversation_id = ?", (key,))

    def load_draft(self, conversation_id: int | None) -> str:
        """The draft of a conversation (None: the new one), or ''."""
        row = self._draft_row("WHERE conversation_id = ?", (conversation_id or NEW_CONVERSATION,))
        return row["text"] if row is not None else ""

    def latest_draft(self) -> tuple[int | None, str] | None:
        """The draft written last, and its conversation (None: the new one); None when there is none."""
        row = self._draft_row(
            "WHERE conversation_id = 0 OR conversation_id IN (SELECT id FROM conversations)"
            " ORDER BY updated_at DESC LIMIT 1",
            (),
        )
        if row is None:
            return None
        return row["conversation_id"] or None, row["text"]

    def _draft_row(self, where: str, parameters: tuple[int, ...]) -> sqlite3.Row | None:
        if self.read_only is not None:
            return None  # opened before its migration: no drafts table yet
        with self._reading() as db:
            row: sqlite3.Row | None = db.execute(
                f"SELECT conversation_id, text FROM drafts {where}", parameters
            ).fetchone()
        return row

    # --- eval runs: apart from conversations (r1chat/evals.py) ------------------------------------

    def add_eval_run(self, key: str, model: str, provider: str, samples: int, settings: dict[str, Any]) -> int:
        """A new eval run of ``model`` with settings known by ``key``; its id."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO eval_runs (key, model, provider, samples, settings, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (key, model, provider, samples, json.dumps(settings), time.time()),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def latest_eval_run(self, key: str) -> tuple[int, float] | None:
        """The newest run with these settings (its id and when it began), or None."""
        if self.read_only is not None and "eval_runs" not in self._tables():
            return None
        with self._reading() as db:
            row = db.execute(
                "SELECT id, created_at FROM eval_runs WHERE key = ? ORDER BY id DESC LIMIT 1", (key,)
            ).fetchone()
        return (row["id"], row["created_at"]) if row is not None else None

    def eval_samples(self, run_id: int) -> dict[tuple[str, int], dict[str, Any]]:
        """Every stored sample of a run: (problem key, sample number) -> its result."""
        with self._reading() as db:
            rows = db.execute("SELECT problem, sample, result FROM eval_samples WHERE run_id = ?", (run_id,)).fetchall()
        return {(row["problem"], row["sample"]): json.loads(row["result"]) for row in rows}

    def save_eval_sample(self, run_id: int, problem: str, sample: int, result: dict[str, Any]) -> None:
        """Store (or replace: a sample that failed, run again) one sample's result."""
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO eval_samples (run_id, problem, sample, result) VALUES (?, ?, ?, ?)",
                (run_id, problem, sample, json.dumps(result)),
            )

    def _tables(self) -> set[str]:
        with self._reading() as db:
            return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


# The key of the draft of a new conversation, not stored yet (row ids start at 1).
NEW_CONVERSATION = 0


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return any(s in text for s in ("not a database", "malformed", "corrupt", "disk image"))


# A message's parts are stored as a layout (JSON): each part as ``part_to_dict`` writes it, but
# for text and reasoning parts the text stays in the content and reasoning columns, which search
# indexes, and the layout says how many characters of them the part takes.
# A text attachment's text is in the content column too, after the prompt's, so search finds it;
# an image's bytes are in the images table, under its digest.
_TEXT_COLUMNS = {"text": "content", "reasoning": "reasoning"}


def _column_of(entry: dict[str, Any]) -> str | None:
    if entry["type"] == "attachment":
        return "content" if entry.get("text") is not None else None
    return _TEXT_COLUMNS.get(entry["type"])


def _content_column(parts: list[Part]) -> str:
    return "".join(p.text or "" for p in parts if isinstance(p, (TextPart, AttachmentPart)))


def tool_text(parts: list[Part]) -> str | None:
    """What search finds of an answer's tool calls and results: each call's tool and arguments,
    each result's text; None for an answer without tools."""
    lines = []
    for part in parts:
        if isinstance(part, ToolCallPart):
            lines.append(f"{part.server}.{part.name} {json.dumps(part.arguments, ensure_ascii=False)}")
        elif isinstance(part, ToolResultPart):
            lines.append(part.text)
    return "\n".join(lines) if lines else None


def _parts_layout(parts: list[Part]) -> str | None:
    if len(parts) <= 1 and not any(
        isinstance(p, AttachmentPart) or (isinstance(p, ReasoningPart) and p.tokens is not None) for p in parts
    ):
        return None  # one text: the columns say it all
    layout = [part_to_dict(part) for part in parts]
    for entry in layout:
        entry.pop("data", None)
        if _column_of(entry) is not None:
            entry["chars"] = len(entry.pop("text"))
    return json.dumps(layout)


def _parts_from_layout(layout: str | None, content: str, reasoning: str) -> list[Part] | None:
    """The parts a layout describes, or None when it is missing or does not fit the text (written
    by another program): then the text columns make one part each."""
    if not layout:
        return None
    texts = {"content": content, "reasoning": reasoning}
    taken = {"content": 0, "reasoning": 0}
    parts: list[Part] = []
    try:
        for entry in json.loads(layout):
            if "chars" in entry and (column := _column_of({**entry, "text": ""})) is not None:
                start = taken[column]
                taken[column] = start + int(entry.pop("chars"))
                entry["text"] = texts[column][start:taken[column]]
            parts.append(part_from_dict(entry))
    except (ValueError, KeyError, TypeError):
        return None
    if taken != {"content": len(content), "reasoning": len(reasoning)}:
        return None
    return parts


def _message_from_row(row: sqlite3.Row) -> Message:
    columns = row.keys()
    versions = "current" in columns  # not in a database opened read-only before its migration
    content, reasoning = row["content"], row["reasoning"]
    return Message(
        Role(row["role"]),
        content,
        reasoning,
        parts=_parts_from_layout(row["parts"], content, reasoning) if versions else None,
        id=row["id"],
        conversation_id=row["conversation_id"],
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
        exchange_id=row["exchange_id"] if versions else None,
        reply_to=row["reply_to"] if versions else None,
        current=bool(row["current"]) if versions else True,
        column=row["compare_column"] if "compare_column" in columns else None,
    )

"""A database with a damaged page in its middle, as a failing disk leaves it: a real r1chat
database is written, then one page of a table (found through SQLite's dbstat table) is
overwritten with garbage. The file still opens; reading that page fails."""

from __future__ import annotations

import hashlib
import random
import sqlite3
from pathlib import Path

from r1chat.conversation import Conversation, Message, MessageStatus, Role
from r1chat.store import Store

CONVERSATIONS = 5
EXCHANGES = 20  # per conversation: 200 messages, about 70 pages of the messages table


def fill(path: Path) -> None:
    """Conversations with long enough messages to take many pages."""
    store = Store(path)
    try:
        for c in range(CONVERSATIONS):
            conversation = Conversation()
            for i in range(EXCHANGES):
                store.add_message(conversation, Message(Role.USER, f"question {c}.{i} about quaternions " + "x" * 300))
                answer = Message(Role.ASSISTANT, f"answer {c}.{i} " + "y" * 500, "thinking " * 50, model="deepseek-r1:8b",
                                 status=MessageStatus.DONE)
                store.add_message(conversation, answer)
    finally:
        store.close()


def damage_page(path: Path, table: str = "messages") -> int:
    """Overwrite a page of ``table`` in the middle of the file with garbage; returns its number."""
    db = sqlite3.connect(path)
    try:
        size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = [row[0] for row in db.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno", (table,)
        )] or [row[0] for row in db.execute("SELECT pageno FROM dbstat WHERE name = ?", (table,))]
    finally:
        db.close()
    page = pages[len(pages) // 2]
    assert page > 1, "the header page is not what this damages"
    with path.open("r+b") as file:
        file.seek((page - 1) * size)
        file.write(random.Random(page).randbytes(size))
    return page


def damaged_database(path: Path, table: str = "messages") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fill(path)
    damage_page(path, table)
    return path


def integrity(path: Path) -> str:
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        db.close()


def on_disk(folder: Path, *, log: bool = False) -> dict[str, str]:
    """Each file of ``folder`` and a hash of its bytes; SQLite's -shm (readers mark it) always
    left out, its write-ahead log unless ``log`` (a closed database has none worth keeping)."""
    passing = ("-shm",) if log else ("-wal", "-shm")
    return {
        file.name: hashlib.sha256(file.read_bytes()).hexdigest()
        for file in sorted(folder.iterdir())
        if file.is_file() and not file.name.endswith(passing)
    }

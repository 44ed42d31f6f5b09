"""Opening the SQLite file and bringing its schema up to date.

WAL mode lets readers and one writer work at the same time across processes
(daemon, TUI, CLI); `busy_timeout` makes a second writer wait instead of failing.
With `synchronous=NORMAL` a committed transaction survives the process being killed
(the WAL is in the OS page cache); only a power cut can lose the last commits.
Migrations are numbered by `PRAGMA user_version` and each runs in one transaction.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
BUSY_TIMEOUT_S = 10.0

# Each entry moves the schema from version i to i + 1. Append only; never edit a shipped one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE items (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('profile', 'note', 'document')),
            title TEXT NOT NULL,
            text TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL
        )""",
        """CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            text TEXT NOT NULL,
            embedding BLOB NOT NULL
        )""",
        "CREATE INDEX chunks_item ON chunks(item_id)",
        """CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        )""",
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            complete INTEGER NOT NULL DEFAULT 1,
            meta TEXT NOT NULL DEFAULT '{}',
            created TEXT NOT NULL
        )""",
        "CREATE INDEX messages_conversation ON messages(conversation_id, id)",
        # Bumped whenever items change, so a cached embedding matrix knows it is stale.
        "CREATE TABLE state (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        "INSERT INTO state VALUES ('items_version', 0)",
    ),
    (
        # Branches: each message follows its parent; editing an earlier instruction adds a sibling
        # (a new branch from there) and both stay. The conversation's head is the last message of
        # the branch it shows. Existing conversations become one branch, in the order written.
        "ALTER TABLE messages ADD COLUMN parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE",
        """UPDATE messages SET parent_id = (
            SELECT MAX(earlier.id) FROM messages AS earlier
            WHERE earlier.conversation_id = messages.conversation_id AND earlier.id < messages.id)""",
        "CREATE INDEX messages_parent ON messages(parent_id)",
        "ALTER TABLE conversations ADD COLUMN head_id INTEGER",
        "UPDATE conversations SET head_id = (SELECT MAX(id) FROM messages WHERE conversation_id = conversations.id)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    """The file was written by a newer tandem."""


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed, mode 0600) and migrate the store at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))  # SQLite gives -wal/-shm the same mode
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the missing migrations; return the schema version. Safe when processes race."""
    conn.execute("BEGIN IMMEDIATE")  # the second process waits here, then sees the new version
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the store was written by a newer tandem (schema {version}, this one knows {SCHEMA_VERSION})"
            )
        for number in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[number]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION


class Database:
    """One connection shared by the threads of a process; writes are serialized and atomic."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = connect(path)
        self._lock = threading.RLock()

    def query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self.conn.execute(sql, args).fetchall()

    def write(self) -> _Transaction:
        """`with db.write() as conn:` runs the block in one IMMEDIATE transaction (all or nothing)."""
        return _Transaction(self)

    def close(self) -> None:
        with self._lock:
            self.conn.close()


class _Transaction:
    def __init__(self, db: Database) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db._lock.acquire()
        try:
            self.db.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.db._lock.release()
            raise
        return self.db.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.db.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.db._lock.release()

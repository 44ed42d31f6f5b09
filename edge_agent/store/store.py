"""The private context store: one SQLite file (WAL) under the data dir, private to the user."""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

from edge_agent.retrieval import Embedder
from edge_agent.store.conversations import ConversationsMixin
from edge_agent.store.db import Database, SchemaTooNew
from edge_agent.store.items import ItemsMixin
from edge_agent.store.types import StoreError
from runtime import paths

# How long closing waits for a background embedding (one query takes ~20 ms on a quiet machine).
CLOSE_WAIT_S = 30.0


def default_store_path() -> Path:
    return paths.data_dir() / "store.sqlite3"


class Store(ItemsMixin, ConversationsMixin):
    """Profile, notes, documents (chunked, embedded) and conversations.

    Several processes may open the same file at once (daemon, TUI, CLI); one `Store`
    may be shared by the threads of a process. The embedder loads on first use.
    """

    def __init__(self, path: Path | None = None, embedder: Embedder | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        try:
            self._db = Database(self.path)
        except SchemaTooNew as exc:
            raise StoreError(f"{self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:  # not a database, locked for too long, ...
            raise StoreError(f"cannot open the store {self.path}: {exc}") from None
        self._embedder = embedder or Embedder()
        self._index = None
        self._query_memo = OrderedDict()
        self._query_lock = threading.Lock()
        self._preparing = []

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def stats(self) -> dict[str, int]:
        """How many items, chunks, conversations and messages the store holds."""
        row = self._db.query(
            "SELECT (SELECT COUNT(*) FROM items), (SELECT COUNT(*) FROM chunks), "
            "(SELECT COUNT(*) FROM conversations), (SELECT COUNT(*) FROM messages)"
        )[0]
        return dict(zip(("items", "chunks", "conversations", "messages"), row))

    def close(self) -> None:
        """Close the file, after the turn being embedded in the background (if any) is done."""
        self._wait_prepared(CLOSE_WAIT_S)
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

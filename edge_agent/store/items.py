"""Context items (profile, notes, documents): adding them chunked and embedded, and retrieving."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from edge_agent.context import PrivateContext
from edge_agent.retrieval import Embedder, from_blobs, to_blob, top_k
from edge_agent.store.chunking import chunk_text
from edge_agent.store.db import Database
from edge_agent.store.documents import MAX_DOCUMENT_BYTES, read_document
from edge_agent.store.types import KINDS, Chunk, ContextItem, StoreError
from edge_agent.store.util import now, short_title

log = logging.getLogger(__name__)

QUERY_MEMO = 64  # query embeddings remembered (the recent turns of the open conversations)
_ITEM_COLUMNS = "id, kind, title, text, source, created, (SELECT COUNT(*) FROM chunks WHERE item_id = items.id) AS chunks"


class _Index:
    """The embedding matrix of every chunk, reloaded when the items change."""

    def __init__(self, version: int, rows: list[sqlite3.Row]) -> None:
        self.version = version
        self.chunk_ids = [row["id"] for row in rows]
        self.item_ids = [row["item_id"] for row in rows]
        self.kinds = [row["kind"] for row in rows]
        self.titles = [row["title"] for row in rows]
        self.texts = [row["text"] for row in rows]
        self.vectors = from_blobs([row["embedding"] for row in rows])


class ItemsMixin:
    """The context-item half of `Store` (it provides `_db` and `_embedder`)."""

    _db: Database
    _embedder: Embedder
    _index: _Index | None = None
    _query_memo: OrderedDict[str, np.ndarray]  # query -> embedding, least recently used first
    _query_lock: threading.Lock
    _preparing: list[threading.Thread]  # background embeddings of finished turns

    def add_profile(self, text: str, title: str = "profile") -> ContextItem:
        """Something about the user that every answer may need (always in the context)."""
        return self._add_item("profile", title or "profile", text, source="")

    def add_note(self, text: str, title: str = "") -> ContextItem:
        """A private note; retrieved when an instruction needs it."""
        return self._add_item("note", title or short_title(text), text, source="")

    def add_document(self, path: Path) -> ContextItem:
        """Import a UTF-8 text or markdown file; StoreError (and nothing written) if it is not one."""
        path = Path(path).expanduser()
        text = read_document(path)
        return self._add_item("document", path.name, text, source=str(path.resolve()))

    def _add_item(self, kind: str, title: str, text: str, source: str) -> ContextItem:
        text = text.strip()
        if not text:
            raise StoreError(f"the {kind} is empty: give it some text")
        if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
            raise StoreError(f"the {kind} is larger than {MAX_DOCUMENT_BYTES // 1024 // 1024} MiB; add it in parts")
        chunks = chunk_text(text)
        # Embed before opening the transaction: if this fails, nothing has been written.
        vectors = self._embedder.embed([f"{title}\n{chunk}" for chunk in chunks])
        with self._db.write() as conn:
            item_id = conn.execute(
                "INSERT INTO items (kind, title, text, source, created) VALUES (?, ?, ?, ?, ?)",
                (kind, title.strip(), text, source, now()),
            ).lastrowid
            conn.executemany(
                "INSERT INTO chunks (item_id, seq, text, embedding) VALUES (?, ?, ?, ?)",
                [(item_id, seq, chunk, to_blob(vector)) for seq, (chunk, vector) in enumerate(zip(chunks, vectors))],
            )
            conn.execute("UPDATE state SET value = value + 1 WHERE key = 'items_version'")
        return self.get_item(item_id)

    def list_items(self, kind: str | None = None) -> list[ContextItem]:
        """Items in the order they were added, optionally of one kind."""
        if kind is None:
            rows = self._db.query(f"SELECT {_ITEM_COLUMNS} FROM items ORDER BY id")
        else:
            _check_kind(kind)
            rows = self._db.query(f"SELECT {_ITEM_COLUMNS} FROM items WHERE kind = ? ORDER BY id", (kind,))
        return [_item(row) for row in rows]

    def get_item(self, item_id: int) -> ContextItem:
        rows = self._db.query(f"SELECT {_ITEM_COLUMNS} FROM items WHERE id = ?", (item_id,))
        if not rows:
            raise StoreError(f"there is no context item {item_id} (see `tandem context list`)")
        return _item(rows[0])

    def remove_item(self, item_id: int) -> None:
        with self._db.write() as conn:
            if conn.execute("DELETE FROM items WHERE id = ?", (item_id,)).rowcount == 0:
                raise StoreError(f"there is no context item {item_id} (see `tandem context list`)")
            conn.execute("UPDATE state SET value = value + 1 WHERE key = 'items_version'")

    def private_texts(self) -> list[str]:
        """The text of every item (what a privacy guard must know to keep the whole store private)."""
        return [row["text"] for row in self._db.query("SELECT text FROM items ORDER BY id")]

    def search(self, query: str, k: int = 4) -> list[Chunk]:
        """The k chunks most similar to `query`, best first (cosine similarity)."""
        return self._search(query, k, KINDS)

    def context_for(self, instruction: str, k: int = 4) -> PrivateContext:
        """What the edge model sees for `instruction`: every profile item, then the top-k note/document chunks."""
        chunks = self.retrieve([instruction], k)
        return self.context_of(chunks)

    def context_of(self, chunks: list[Chunk], source: str = "") -> PrivateContext:
        """Every profile item, then `chunks`, as the context of one request (the guard knows the whole store)."""
        profile = [item.text for item in self.list_items("profile")]
        text = "\n\n".join(profile + [chunk.text for chunk in chunks])
        source = source or f"store: {len(profile)} profile item(s), {len(chunks)} retrieved chunk(s)"
        # The guard must know the whole store, not only what was retrieved: a name from an
        # unretrieved note typed into the instruction is still private.
        return PrivateContext(text=text, source=source, guard_texts=tuple(self.private_texts()))

    def retrieve(self, queries: list[str], k: int = 4) -> list[Chunk]:
        """The k note/document chunks most similar to any of `queries` (each chunk scored by its best query).

        Query embeddings are remembered (see `prepare_query`), so a query seen before costs nothing.
        """
        queries = [q for q in queries if q.strip()]
        if k <= 0 or not queries:
            return []
        best: dict[int, Chunk] = {}
        for query in queries:
            for chunk in self._search(query, k, ("note", "document")):
                if chunk.id not in best or chunk.score > best[chunk.id].score:
                    best[chunk.id] = chunk
        return sorted(best.values(), key=lambda c: -c.score)[:k]

    def prepare_query(self, query: str) -> None:
        """Embed `query` now (e.g. a turn that just ended), so that retrieving with it later is instant."""
        if query.strip() and self._current_index().chunk_ids:
            self._query_vector(query)

    def prepare_query_in_background(self, query: str) -> None:
        """`prepare_query` on a thread; `close()` waits for it (exiting mid-embedding aborts the process)."""
        thread = threading.Thread(target=self._prepare_quietly, args=(query,), daemon=True, name="prepare-retrieval")
        with self._query_lock:  # started under the lock, so that `close()` never joins an unstarted thread
            self._preparing = [t for t in self._preparing if t.is_alive()] + [thread]
            thread.start()

    def _prepare_quietly(self, query: str) -> None:
        try:
            self.prepare_query(query)
        except Exception as exc:  # only a head start is lost: the next turn embeds it itself
            log.debug("could not embed the turn ahead of time: %s", exc)

    def _wait_prepared(self, timeout_s: float) -> None:
        with self._query_lock:
            pending, self._preparing = self._preparing, []
        for thread in pending:
            thread.join(timeout_s)

    def _query_vector(self, query: str) -> np.ndarray:
        memo = self._query_memo
        with self._query_lock:
            if query in memo:
                memo.move_to_end(query)
                return memo[query]
        vector = self._embedder.embed_one(query)
        with self._query_lock:
            memo[query] = vector
            while len(memo) > QUERY_MEMO:
                memo.popitem(last=False)
        return vector

    def chunks(self, chunk_ids: list[int]) -> list[Chunk]:
        """The chunks with these ids, in that order; ids of removed items are skipped."""
        index = self._current_index()
        row_of = {chunk_id: r for r, chunk_id in enumerate(index.chunk_ids)}
        return [Chunk(index.item_ids[r], index.titles[r], index.texts[r], 1.0, index.chunk_ids[r])
                for r in (row_of.get(i) for i in chunk_ids) if r is not None]

    def _search(self, query: str, k: int, kinds: tuple[str, ...]) -> list[Chunk]:
        if not query.strip():
            raise StoreError("the search query is empty")
        index = self._current_index()
        rows = np.array([i for i, kind in enumerate(index.kinds) if kind in kinds], dtype=np.int64)
        if k <= 0 or len(rows) == 0:
            return []  # nothing to search: the embedder is not even loaded
        hits = top_k(self._query_vector(query), index.vectors[rows], k)
        return [
            Chunk(index.item_ids[r], index.titles[r], index.texts[r], score, index.chunk_ids[r])
            for r, score in ((int(rows[i]), score) for i, score in hits)
        ]

    def _current_index(self) -> _Index:
        version = self._db.query("SELECT value FROM state WHERE key = 'items_version'")[0][0]
        if self._index is None or self._index.version != version:
            rows = self._db.query(
                "SELECT chunks.id, chunks.item_id, items.kind, items.title, chunks.text, chunks.embedding "
                "FROM chunks JOIN items ON items.id = chunks.item_id ORDER BY chunks.id"
            )
            self._index = _Index(version, rows)
        return self._index


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise StoreError(f"unknown kind '{kind}' (known: {', '.join(KINDS)})")


def _item(row: sqlite3.Row) -> ContextItem:
    return ContextItem(
        id=row["id"], kind=row["kind"], title=row["title"], text=row["text"],
        source=row["source"], created=row["created"], chunks=row["chunks"],
    )

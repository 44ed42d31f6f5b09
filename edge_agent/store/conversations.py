"""Conversations and their messages: durable as they stream, safe for several writers.

An answer is written as it is generated: `add_message(complete=False)`, then
`append_to_message` for every piece (each call is its own committed transaction),
then `finish_message`. If the process dies in between, the text written so far stays
and the message stays incomplete; `recover_interrupted` labels such messages.
"""

from __future__ import annotations

import json
import sqlite3

from edge_agent.store.db import Database
from edge_agent.store.types import Conversation, Message, StoreError
from edge_agent.store.util import now, short_title

ROLES = ("user", "assistant", "system")
INTERRUPTED = "interrupted"  # meta key: why an answer stopped before its end


class ConversationsMixin:
    """The conversation half of `Store` (it provides `_db`)."""

    _db: Database

    def create_conversation(self, title: str = "") -> Conversation:
        """A new, empty conversation. An empty title becomes the first user message's first line."""
        stamp = now()
        with self._db.write() as conn:
            cid = conn.execute(
                "INSERT INTO conversations (title, created, updated) VALUES (?, ?, ?)", (title.strip(), stamp, stamp)
            ).lastrowid
        return self.get_conversation(cid)

    def get_conversation(self, conversation_id: int) -> Conversation:
        rows = self._db.query("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        if not rows:
            raise StoreError(f"there is no conversation {conversation_id}")
        return _conversation(rows[0])

    def list_conversations(self) -> list[Conversation]:
        """Most recently updated first (ties: the one with the latest message)."""
        rows = self._db.query(
            "SELECT * FROM conversations ORDER BY updated DESC, "
            "(SELECT MAX(id) FROM messages WHERE conversation_id = conversations.id) DESC NULLS LAST, id DESC"
        )
        return [_conversation(row) for row in rows]

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        with self._db.write() as conn:
            if conn.execute("UPDATE conversations SET title = ? WHERE id = ?",
                            (title.strip(), conversation_id)).rowcount == 0:
                raise StoreError(f"there is no conversation {conversation_id}")

    def delete_conversation(self, conversation_id: int) -> None:
        with self._db.write() as conn:
            if conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,)).rowcount == 0:
                raise StoreError(f"there is no conversation {conversation_id}")

    def messages(self, conversation_id: int) -> list[Message]:
        """The messages of a conversation, oldest first."""
        self.get_conversation(conversation_id)
        rows = self._db.query("SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,))
        return [_message(row) for row in rows]

    def get_message(self, message_id: int) -> Message:
        rows = self._db.query("SELECT * FROM messages WHERE id = ?", (message_id,))
        if not rows:
            raise StoreError(f"there is no message {message_id}")
        return _message(rows[0])

    def add_message(
        self, conversation_id: int, role: str, text: str = "", complete: bool = True, meta: dict | None = None
    ) -> Message:
        """Append a message; pass `complete=False` for an answer that is about to stream."""
        if role not in ROLES:
            raise StoreError(f"unknown role '{role}' (known: {', '.join(ROLES)})")
        stamp = now()
        with self._db.write() as conn:
            found = conn.execute("SELECT title FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            if found is None:
                raise StoreError(f"there is no conversation {conversation_id}")
            mid = conn.execute(
                "INSERT INTO messages (conversation_id, role, text, complete, meta, created) VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, role, text, int(complete), json.dumps(meta or {}), stamp),
            ).lastrowid
            title = found["title"] or (short_title(text) if role == "user" else "")
            conn.execute("UPDATE conversations SET updated = ?, title = ? WHERE id = ?", (stamp, title, conversation_id))
        return self.get_message(mid)

    def append_to_message(self, message_id: int, text: str) -> None:
        """Add streamed text to a message; committed (survives a crash of this process) when it returns."""
        if not text:
            return
        with self._db.write() as conn:
            if conn.execute("UPDATE messages SET text = text || ? WHERE id = ?", (text, message_id)).rowcount == 0:
                raise StoreError(f"there is no message {message_id}")

    def finish_message(self, message_id: int, meta: dict | None = None) -> None:
        """Mark a message complete, merging `meta` (e.g. the answer report) into its meta."""
        self._update_meta(message_id, meta or {}, complete=True)

    def mark_interrupted(self, message_id: int, reason: str, meta: dict | None = None) -> None:
        """Record why an answer stopped early; it stays incomplete, its text is kept."""
        self._update_meta(message_id, {**(meta or {}), INTERRUPTED: reason}, complete=False)

    def recover_interrupted(self, reason: str = "the answer was cut off when tandem stopped") -> int:
        """Label incomplete messages that nobody is writing any more; return how many.

        Call it when no other process can be streaming an answer into this store (the daemon does,
        at start, when it owns the socket).
        """
        rows = self._db.query("SELECT id, meta FROM messages WHERE complete = 0")
        stale = [row["id"] for row in rows if INTERRUPTED not in json.loads(row["meta"] or "{}")]
        for message_id in stale:
            self.mark_interrupted(message_id, reason)
        return len(stale)

    def _update_meta(self, message_id: int, meta: dict, complete: bool) -> None:
        with self._db.write() as conn:
            row = conn.execute("SELECT conversation_id, meta FROM messages WHERE id = ?", (message_id,)).fetchone()
            if row is None:
                raise StoreError(f"there is no message {message_id}")
            merged = json.loads(row["meta"] or "{}")
            if complete:
                merged.pop(INTERRUPTED, None)
            merged.update(meta)
            conn.execute("UPDATE messages SET complete = ?, meta = ? WHERE id = ?",
                         (int(complete), json.dumps(merged), message_id))
            conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now(), row["conversation_id"]))


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(id=row["id"], title=row["title"], created=row["created"], updated=row["updated"])


def _message(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"], conversation_id=row["conversation_id"], role=row["role"], text=row["text"],
        complete=bool(row["complete"]), meta=json.loads(row["meta"] or "{}"), created=row["created"],
    )

"""Conversations and their messages: durable as they stream, safe for several writers.

An answer is written as it is generated: `add_message(complete=False)`, then
`append_to_message` for every piece (each call is its own committed transaction),
then `finish_message`. If the process dies in between, the text written so far stays
and the message stays incomplete; `recover_interrupted` labels such messages.

Messages form a tree: each follows its parent. A new message follows the conversation's
head (the last message of the branch it shows) and becomes the head; one added after an
earlier message (re-asking an edited instruction) starts a new branch, and the old one stays.
`messages()` is the active branch, oldest first; `turns()` pairs it into (instruction, answer).
"""

from __future__ import annotations

import json
import sqlite3

from edge_agent.store.db import Database
from edge_agent.store.types import Conversation, Exchange, Message, StoreError
from edge_agent.store.util import now, short_title

ROLES = ("user", "assistant", "system")
INTERRUPTED = "interrupted"  # meta key: why an answer stopped before its end
HEAD = -1  # `add_message(parent_id=HEAD)`: after the conversation's head (the default)

# The messages from a given one up to the root of its branch (parents have lower ids).
_BRANCH = """WITH RECURSIVE branch(id) AS (
    SELECT ? UNION ALL
    SELECT messages.parent_id FROM messages JOIN branch ON messages.id = branch.id
    WHERE messages.parent_id IS NOT NULL)
SELECT messages.* FROM messages JOIN branch ON messages.id = branch.id ORDER BY messages.id"""


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
        """The active branch of a conversation (what the chat shows and the model remembers), oldest first."""
        head = self.get_conversation(conversation_id).head_id
        return self.branch(head) if head is not None else []

    def all_messages(self, conversation_id: int) -> list[Message]:
        """Every message of a conversation, every branch, in the order written."""
        self.get_conversation(conversation_id)
        rows = self._db.query("SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,))
        return [_message(row) for row in rows]

    def branch(self, message_id: int) -> list[Message]:
        """The messages leading to `message_id`, itself included, oldest first."""
        rows = self._db.query(_BRANCH, (message_id,))
        if not rows:
            raise StoreError(f"there is no message {message_id}")
        return [_message(row) for row in rows]

    def turns(self, conversation_id: int, before: int | None = None) -> list[Exchange]:
        """The active branch as (instruction, answer) turns; with `before` (a user message), the
        turns that lead to that message, on its own branch (what an edit of it builds on)."""
        if before is None:
            messages = self.messages(conversation_id)
        else:
            edited = self.get_message(before)
            if edited.conversation_id != conversation_id or edited.role != "user":
                raise StoreError(f"message {before} is not an instruction of conversation {conversation_id}")
            messages = self.branch(edited.parent_id) if edited.parent_id is not None else []
        turns: list[Exchange] = []
        for message in messages:
            if message.role == "user":
                turns.append(Exchange(message, None))
            elif message.role == "assistant" and turns and turns[-1].answer is None:
                turns[-1] = Exchange(turns[-1].instruction, message)
        return turns

    def set_head(self, conversation_id: int, message_id: int) -> None:
        """Show (and continue) the branch that ends at `message_id`."""
        message = self.get_message(message_id)
        if message.conversation_id != conversation_id:
            raise StoreError(f"message {message_id} is not in conversation {conversation_id}")
        with self._db.write() as conn:
            conn.execute("UPDATE conversations SET head_id = ? WHERE id = ?", (message_id, conversation_id))

    def leaves(self, conversation_id: int) -> list[Message]:
        """The last message of every branch (one per branch), oldest first."""
        self.get_conversation(conversation_id)
        rows = self._db.query(
            "SELECT * FROM messages AS m WHERE conversation_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM messages AS c WHERE c.parent_id = m.id) ORDER BY id", (conversation_id,))
        return [_message(row) for row in rows]

    def get_message(self, message_id: int) -> Message:
        rows = self._db.query("SELECT * FROM messages WHERE id = ?", (message_id,))
        if not rows:
            raise StoreError(f"there is no message {message_id}")
        return _message(rows[0])

    def add_message(
        self, conversation_id: int, role: str, text: str = "", complete: bool = True, meta: dict | None = None,
        parent_id: int | None = HEAD,
    ) -> Message:
        """Add a message after `parent_id` (default: the head; None: a first message) and make it the head.

        Pass `complete=False` for an answer that is about to stream.
        """
        if role not in ROLES:
            raise StoreError(f"unknown role '{role}' (known: {', '.join(ROLES)})")
        stamp = now()
        with self._db.write() as conn:  # reading the head and moving it is one transaction: branches stay linear
            found = conn.execute("SELECT title, head_id FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            if found is None:
                raise StoreError(f"there is no conversation {conversation_id}")
            parent = found["head_id"] if parent_id == HEAD else parent_id
            if parent is not None:
                owner = conn.execute("SELECT conversation_id FROM messages WHERE id = ?", (parent,)).fetchone()
                if owner is None or owner[0] != conversation_id:
                    raise StoreError(f"message {parent} is not in conversation {conversation_id}")
            mid = conn.execute(
                "INSERT INTO messages (conversation_id, role, text, complete, meta, created, parent_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, role, text, int(complete), json.dumps(meta or {}), stamp, parent),
            ).lastrowid
            title = found["title"] or (short_title(text) if role == "user" else "")
            conn.execute("UPDATE conversations SET updated = ?, title = ?, head_id = ? WHERE id = ?",
                         (stamp, title, mid, conversation_id))
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
    return Conversation(id=row["id"], title=row["title"], created=row["created"], updated=row["updated"],
                        head_id=row["head_id"])


def _message(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"], conversation_id=row["conversation_id"], role=row["role"], text=row["text"],
        complete=bool(row["complete"]), meta=json.loads(row["meta"] or "{}"), created=row["created"],
        parent_id=row["parent_id"],
    )

"""The records the store hands out (frozen dataclasses) and its one error type."""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime.errors import UserError

KINDS = ("profile", "note", "document")


class StoreError(UserError, ValueError):
    """A store operation cannot be done (missing item, bad document, ...); the message says why."""


@dataclass(frozen=True)
class ContextItem:
    """One piece of private context: a profile entry, a note or an imported document."""

    id: int
    kind: str  # "profile" | "note" | "document"
    title: str
    text: str
    source: str  # file path for documents, "" otherwise
    created: str  # ISO 8601, UTC
    chunks: int  # how many retrieval chunks it was split into


@dataclass(frozen=True)
class Chunk:
    """A retrieved piece of an item, with its similarity to the query (cosine, -1..1)."""

    item_id: int
    title: str
    text: str
    score: float
    id: int = 0  # the chunk's own id (stable while its item exists)


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    created: str
    updated: str  # last message written
    head_id: int | None = None  # the last message of the branch it shows (None: no message yet)


@dataclass(frozen=True)
class Message:
    """One turn. `complete` is False while an answer streams, and stays False if it was interrupted."""

    id: int
    conversation_id: int
    role: str  # "user" | "assistant"
    text: str
    complete: bool
    meta: dict = field(default_factory=dict)  # e.g. the answer report (strategy, fallback, wire)
    created: str = ""
    parent_id: int | None = None  # the message it follows on its branch (None: the first)


@dataclass(frozen=True)
class Exchange:
    """One turn of a branch: the user's instruction and the answer to it (None while none was written)."""

    instruction: Message
    answer: Message | None

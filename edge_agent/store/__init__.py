"""The private context store: profile, notes, documents (chunked + embedded) and conversations.

    store = Store()                          # <data dir>/store.sqlite3, schema created on first use
    store.add_note("My landlord is Mrs Alvarez, flat 3B")
    store.context_for("Email my landlord")   # every profile item + the top-k retrieved chunks

`AnswerRecorder` writes a streaming answer into a conversation as it is generated.
"""

from edge_agent.store.recording import AnswerRecorder, report_meta
from edge_agent.store.store import Store, default_store_path
from edge_agent.store.types import Chunk, ContextItem, Conversation, Exchange, Message, StoreError

__all__ = [
    "AnswerRecorder",
    "Chunk",
    "ContextItem",
    "Conversation",
    "Exchange",
    "Message",
    "Store",
    "StoreError",
    "default_store_path",
    "report_meta",
]

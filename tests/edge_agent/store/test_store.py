"""The store on a real SQLite file: items, retrieval, refused documents, conversations, several writers."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.context import PrivateContext
from edge_agent.retrieval import Embedder
from edge_agent.store import Store, StoreError
from edge_agent.store.db import SCHEMA_VERSION
from edge_agent.store.documents import MAX_DOCUMENT_BYTES

LANDLORD = "My landlord is Mrs Alvarez; the heating in flat 3B has been broken since Monday."
DENTIST = "Dentist appointment on Friday at 10am with Dr Chen, 44 Harbour Road."
BREAD = "I bake sourdough bread every Sunday morning with rye flour."


@pytest.fixture
def store(tmp_path: Path, embedder: Embedder) -> Store:
    with Store(tmp_path / "store.sqlite3", embedder=embedder) as s:
        yield s


def test_default_location_is_private_and_in_wal_mode(isolated_dirs: Path, embedder: Embedder) -> None:
    with Store(embedder=embedder) as store:
        assert store.path == isolated_dirs / "data" / "tandem" / "store.sqlite3"
        store.add_note(LANDLORD)
    assert store.path.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_items_are_added_listed_shown_and_removed(store: Store) -> None:
    profile = store.add_profile("My name is Priya Sharma.")
    note = store.add_note(LANDLORD)
    assert (profile.kind, profile.title, profile.chunks) == ("profile", "profile", 1)
    assert note.title.startswith("My landlord is Mrs Alvarez") and len(note.title) <= 60
    assert [i.id for i in store.list_items()] == [profile.id, note.id]
    assert store.list_items("note") == [note]
    assert store.get_item(note.id).text == LANDLORD
    store.remove_item(note.id)
    assert store.list_items() == [profile]
    assert store.stats()["chunks"] == 1  # the note's chunks went with it
    with pytest.raises(StoreError, match="no context item"):
        store.get_item(note.id)
    with pytest.raises(StoreError, match="no context item"):
        store.remove_item(note.id)
    with pytest.raises(StoreError, match="unknown kind"):
        store.list_items("diary")
    with pytest.raises(StoreError, match="empty"):
        store.add_note("   ")


def test_search_finds_the_relevant_note(store: Store) -> None:
    for text in (LANDLORD, DENTIST, BREAD):
        store.add_note(text)
    hits = store.search("when do I see the dentist?", k=2)
    assert [h.text for h in hits][0] == DENTIST
    assert hits[0].score > hits[1].score
    assert store.search("my radiator is cold", k=1)[0].text == LANDLORD
    with pytest.raises(StoreError, match="empty"):
        store.search("  ")


def test_search_sees_items_added_by_another_connection(store: Store, embedder: Embedder) -> None:
    store.add_note(BREAD)
    assert store.search("dentist", k=5)[0].text == BREAD  # the only one; the index is now cached
    with Store(store.path, embedder=embedder) as other:
        other.add_note(DENTIST)
    assert store.search("dentist", k=1)[0].text == DENTIST


def test_context_has_every_profile_item_and_the_top_k_chunks(store: Store) -> None:
    store.add_profile("My name is Priya Sharma.")
    for text in (LANDLORD, DENTIST, BREAD):
        store.add_note(text)
    context = store.context_for("Email my landlord about the heating", k=1)
    assert isinstance(context, PrivateContext)
    assert context.text == "My name is Priya Sharma.\n\n" + LANDLORD
    assert context.source == "store: 1 profile item(s), 1 retrieved chunk(s)"
    assert store.context_for("anything", k=0).text == "My name is Priya Sharma."


def test_empty_store_gives_empty_context_without_loading_the_embedder(tmp_path: Path) -> None:
    embedder = Embedder()
    with Store(tmp_path / "s.sqlite3", embedder=embedder) as store:
        assert not store.context_for("Email my landlord")
        assert store.search("anything") == []
    assert embedder._session is None


def test_documents_are_imported_chunked(store: Store, tmp_path: Path) -> None:
    doc = tmp_path / "lease.md"
    doc.write_text("# Lease\n\n" + ("The tenant pays rent on the first day of the month. " * 40), encoding="utf-8")
    item = store.add_document(doc)
    assert (item.kind, item.title, item.source) == ("document", "lease.md", str(doc.resolve()))
    assert item.chunks > 1
    assert store.search("when is rent due?", k=1)[0].item_id == item.id


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks binary"),
        ("Caf\u00e9 cr\u00e8me".encode("latin-1"), "not UTF-8 text (bad byte at offset 3)"),
        (b"x" * (MAX_DOCUMENT_BYTES + 1), "the limit is 1 MiB"),
        (b"  \n\n  ", "is empty"),
    ],
    ids=["binary", "latin-1", "huge", "empty"],
)
def test_a_broken_document_is_refused_and_nothing_is_touched(
    store: Store, tmp_path: Path, content: bytes, message: str
) -> None:
    store.add_note(LANDLORD)
    before = (store.list_items(), store.stats(), store._db.query("SELECT value FROM state")[0][0])
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    with pytest.raises(StoreError, match=message.replace("(", r"\(").replace(")", r"\)")):
        store.add_document(bad)
    assert (store.list_items(), store.stats(), store._db.query("SELECT value FROM state")[0][0]) == before


def test_missing_document_and_directory_are_refused(store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        store.add_document(tmp_path / "absent.md")
    with pytest.raises(StoreError, match="not a regular file"):
        store.add_document(tmp_path)


def test_conversation_lifecycle(store: Store) -> None:
    first = store.create_conversation()
    second = store.create_conversation("Plans")
    store.add_message(first.id, "user", "Email my landlord about the heating\nplease")
    assert store.get_conversation(first.id).title == "Email my landlord about the heating"  # from the first line
    assert [c.id for c in store.list_conversations()] == [first.id, second.id]  # most recent first
    store.rename_conversation(second.id, "Weekend")
    assert store.get_conversation(second.id).title == "Weekend"
    store.delete_conversation(first.id)
    assert [c.id for c in store.list_conversations()] == [second.id]
    with pytest.raises(StoreError, match="no conversation"):
        store.messages(first.id)
    with pytest.raises(StoreError, match="no conversation"):
        store.add_message(first.id, "user", "hi")
    with pytest.raises(StoreError, match="unknown role"):
        store.add_message(second.id, "robot", "hi")


def test_streamed_message_is_kept_incomplete_until_finished(store: Store, embedder: Embedder) -> None:
    conversation = store.create_conversation()
    answer = store.add_message(conversation.id, "assistant", complete=False, meta={"strategy": "edge"})
    for piece in ("Dear ", "Mrs ", "Alvarez"):
        store.append_to_message(answer.id, piece)
    with Store(store.path, embedder=embedder) as other:  # what another process sees, mid-stream
        [seen] = other.messages(conversation.id)
        assert (seen.text, seen.complete) == ("Dear Mrs Alvarez", False)
        assert other.recover_interrupted() == 1
    [seen] = store.messages(conversation.id)
    assert seen.meta == {"strategy": "edge", "interrupted": "the answer was cut off when tandem stopped"}
    assert store.recover_interrupted() == 0  # already labelled
    store.finish_message(answer.id, {"answered_by": "edge"})
    [done] = store.messages(conversation.id)
    assert done.complete and done.meta == {"strategy": "edge", "answered_by": "edge"}
    with pytest.raises(StoreError, match="no message"):
        store.append_to_message(answer.id + 100, "x")


_WRITER = """
import sys
from pathlib import Path
from edge_agent.store import Store
store = Store(Path(sys.argv[1]))
message_id = int(sys.argv[2])
for i in range(150):
    store.append_to_message(message_id, f"{sys.argv[3]}{i};")
    if i % 50 == 0:
        store.create_conversation(f"from {sys.argv[3]}")
store.finish_message(message_id)
"""


def test_two_processes_write_at_once_without_corruption(store: Store) -> None:
    conversation = store.create_conversation()
    a = store.add_message(conversation.id, "assistant", complete=False)
    b = store.add_message(conversation.id, "assistant", complete=False)
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(store.path), str(m.id), tag], env=os.environ.copy())
        for m, tag in ((a, "a"), (b, "b"))
    ]
    for i in range(100):  # this process writes too, meanwhile
        store.add_message(conversation.id, "user", f"main {i}")
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    messages = {m.id: m for m in store.messages(conversation.id)}
    assert messages[a.id].text == "".join(f"a{i};" for i in range(150)) and messages[a.id].complete
    assert messages[b.id].text == "".join(f"b{i};" for i in range(150)) and messages[b.id].complete
    assert len(messages) == 102
    assert len(store.list_conversations()) == 7
    assert store._db.query("PRAGMA integrity_check")[0][0] == "ok"


def test_a_store_from_a_newer_tandem_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer tandem"):
        Store(path)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some text, long enough to be read as a header " * 10)
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(path)

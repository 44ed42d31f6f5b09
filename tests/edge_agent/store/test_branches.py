"""Conversations as trees (edits fork, both branches stay), the migration that made them so, and what
a turn is given of its conversation (notes chosen for the whole exchange, history within a budget)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from edge_agent.retrieval import Embedder
from edge_agent.store import Store, StoreError
from edge_agent.store.db import MIGRATIONS, SCHEMA_VERSION
from edge_agent.store.history import NOTES_KEY, conversation_context, fit, fit_start
from edge_agent.strategies.base import HistoryTurn

LANDLORD = "My landlord is Mrs Alvarez; the heating in flat 3B has been broken since Monday."
DENTIST = "Dentist appointment on Friday at 10am with Dr Chen, 44 Harbour Road."
BREAD = "I bake sourdough bread every Sunday morning with rye flour."


@pytest.fixture
def store(tmp_path: Path, embedder: Embedder) -> Store:
    with Store(tmp_path / "store.sqlite3", embedder=embedder) as s:
        yield s


def _turn(store: Store, conversation: int, instruction: str, answer: str, parent: int | None = -1,
          meta: dict | None = None) -> tuple[int, int]:
    user = store.add_message(conversation, "user", instruction, parent_id=parent)
    reply = store.add_message(conversation, "assistant", answer, meta=meta or {})
    return user.id, reply.id


def test_an_edit_forks_and_both_branches_stay(store: Store) -> None:
    chat = store.create_conversation().id
    first, _ = _turn(store, chat, "Write a note to my landlord.", "Dear Mrs Alvarez, ...")
    second, _ = _turn(store, chat, "Make it shorter.", "Heating broken, please fix.")
    _turn(store, chat, "Add my flat number.", "Flat 3B: heating broken.")
    old_branch = [m.text for m in store.messages(chat)]
    # Re-asking the second instruction, changed: a sibling of it, after the first turn.
    edited = store.get_message(second)
    new_user, new_answer = _turn(store, chat, "Make it more formal.", "Dear Mrs Alvarez, I write to ...",
                                 parent=edited.parent_id)
    assert [m.text for m in store.messages(chat)] == old_branch[:2] + ["Make it more formal.",
                                                                       "Dear Mrs Alvarez, I write to ..."]
    assert len(store.all_messages(chat)) == 8  # nothing was lost
    assert [t.instruction.text for t in store.turns(chat)] == ["Write a note to my landlord.", "Make it more formal."]
    assert [m.id for m in store.leaves(chat)][-1] == new_answer
    assert len(store.leaves(chat)) == 2
    # The turns an edit builds on: those before the edited instruction, on its own branch.
    assert [t.instruction.id for t in store.turns(chat, before=new_user)] == [first]
    assert store.turns(chat, before=first) == []
    # The old branch can be shown again.
    store.set_head(chat, store.leaves(chat)[0].id)
    assert [m.text for m in store.messages(chat)] == old_branch
    with pytest.raises(StoreError, match="not an instruction"):
        store.turns(chat, before=new_answer)
    other = store.create_conversation().id
    with pytest.raises(StoreError, match="not in conversation"):
        store.add_message(other, "user", "hi", parent_id=first)
    with pytest.raises(StoreError, match="not in conversation"):
        store.set_head(other, first)


def test_deleting_a_conversation_deletes_every_branch(store: Store) -> None:
    chat = store.create_conversation().id
    first, _ = _turn(store, chat, "One", "1")
    _turn(store, chat, "Two", "2", parent=None)  # a second root: an edit of the first instruction
    store.delete_conversation(chat)
    assert store.stats()["messages"] == 0


def test_a_store_of_schema_1_is_migrated_into_one_branch_per_conversation(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        for cid in (1, 2):
            conn.execute("INSERT INTO conversations VALUES (?, 'chat', 't', 't')", (cid,))
        for mid, cid, role in ((1, 1, "user"), (2, 2, "user"), (3, 1, "assistant"), (4, 1, "user"), (5, 2, "assistant")):
            conn.execute("INSERT INTO messages (id, conversation_id, role, text, created) VALUES (?, ?, ?, ?, 't')",
                         (mid, cid, role, f"m{mid}"))
    with Store(path) as store:
        assert [(m.id, m.parent_id) for m in store.messages(1)] == [(1, None), (3, 1), (4, 3)]
        assert [(m.id, m.parent_id) for m in store.messages(2)] == [(2, None), (5, 2)]
        assert store.get_conversation(1).head_id == 4
        store.add_message(1, "assistant", "m6")
        assert store.messages(1)[-1].parent_id == 4
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_the_history_budget_drops_the_oldest_turns_in_blocks() -> None:
    assert fit_start([100] * 5, 1000) == 0
    assert fit_start([100] * 11, 1000) == 6  # over the budget: down to half of it
    # The start stays put for the next turns (their prompts share the saved prefix) ...
    assert [fit_start([100] * n, 1000) for n in range(11, 17)] == [6] * 6
    # ... until the budget overflows again.
    assert fit_start([100] * 17, 1000) == 12
    assert fit_start([2000, 100], 1000) == 1  # a turn larger than the budget goes alone
    turns = [HistoryTurn(f"q{i}", "a " * 50) for i in range(4)]
    kept, dropped = fit(turns, 150, lambda text: len(text.split()))
    assert (kept, dropped) == (tuple(turns[2:]), 2)  # 63 tokens each: 3 overflow, 1 left, then 2
    assert fit(turns, 0, len) == ((), 4)


def test_notes_are_chosen_for_the_whole_exchange_and_stay_put(store: Store) -> None:
    store.add_profile("My name is Priya Sharma.")
    landlord, dentist, _ = (store.add_note(t) for t in (LANDLORD, DENTIST, BREAD))
    count = lambda text: len(text.split())  # noqa: E731 - any monotone count works for the budget
    chat = store.create_conversation().id
    # The first turn: what it retrieves is the conversation's notes (recorded with the answer).
    first = conversation_context(store, [], "Email my landlord about the heating", 1, 1000, count)
    assert first.context.text == "My name is Priya Sharma.\n\n" + LANDLORD and first.history == ()
    ids = first.meta[NOTES_KEY]
    assert [c.item_id for c in store.chunks(ids)] == [landlord.id]
    _turn(store, chat, "Email my landlord about the heating", "Dear Mrs Alvarez, the heating is broken.",
          meta={NOTES_KEY: ids})
    # A follow-up whose own words say nothing of the dentist, but the exchange does.
    _turn(store, chat, "Also mention that I cannot be home on Friday morning because of Dr Chen.",
          "I am at the dentist on Friday morning.", meta={NOTES_KEY: []})
    follow = conversation_context(store, store.turns(chat), "Make it shorter.", 2, 1000, count)
    assert follow.context.text == first.context.text  # the system notes did not move
    assert [t.instruction for t in follow.history][0] == "Email my landlord about the heating"
    assert follow.turn_notes == DENTIST  # retrieved with the exchange, new in the prompt
    assert [c.item_id for c in store.chunks(follow.meta[NOTES_KEY])] == [dentist.id]
    # Shown once: the next turn has it in the history (with the turn that added it), not again.
    _turn(store, chat, "Make it shorter.", "Heating broken; away Friday morning.", meta=follow.meta)
    later = conversation_context(store, store.turns(chat), "And friendlier.", 2, 1000, count)
    assert later.history[-1].notes == DENTIST and later.turn_notes == ""
    # Notes passed by the caller replace the store's, and nothing is retrieved.
    given = conversation_context(store, store.turns(chat), "x", 2, 1000, count,
                                 given=first.context.__class__("only this"))
    assert given.context.text == "only this" and given.turn_notes == "" and len(given.history) == 3


def test_retrieval_with_several_queries_keeps_each_chunks_best_score(store: Store) -> None:
    for text in (LANDLORD, DENTIST, BREAD):
        store.add_note(text)
    both = store.retrieve(["my radiator is cold", "when do I see the dentist?"], k=2)
    assert {c.text for c in both} == {LANDLORD, DENTIST}
    assert store.retrieve(["  "], k=2) == [] and store.retrieve(["dentist"], k=0) == []
    store.prepare_query("sourdough")  # remembered: the same query later needs no embedding
    assert "sourdough" in store._query_memo


def test_closing_the_store_waits_for_a_turn_embedded_in_the_background(store: Store) -> None:
    store.add_note(BREAD)
    store.prepare_query_in_background("when do I bake?")
    store.close()  # a process that exits while onnxruntime embeds is aborted: close waits for it
    assert not [t for t in threading.enumerate() if t.name == "prepare-retrieval"]
    assert "when do I bake?" in store._query_memo

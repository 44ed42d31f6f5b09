"""What the model is given of a conversation for its next turn: notes, earlier turns, new notes.

The notes are chosen for the whole exchange and placed so that each turn's prompt extends the
previous one (see `strategies.prompts`):

- The conversation's notes (the system message) are the profile and the chunks the first turn
  retrieved; they stay the same for every later turn.
- Each later turn retrieves with its instruction and with each of the two latest turns; chunks that no
  turn in the prompt shows yet are given with that turn, and recorded with its answer
  (`NOTES_KEY` in the message's meta, as chunk ids) so the history shows them again there.
- Earlier turns are kept newest first within a token budget. When they overflow it, the oldest
  are dropped until half the budget is left, so the start of the history (and the KV state
  saved after the last answer) stays valid for the next several turns instead of shifting at
  every turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from edge_agent.context import PrivateContext
from edge_agent.store.store import Store
from edge_agent.store.types import Chunk, Exchange
from edge_agent.strategies.base import HistoryTurn

NOTES_KEY = "notes_chunks"  # answer meta: ids of the chunks first given to the model in that turn
TURN_OVERHEAD = 12  # template tokens around one turn's two messages
EXCHANGE_QUERY_CHARS = 1200  # the recent exchange as a retrieval query (MiniLM reads 256 tokens)


@dataclass(frozen=True)
class ConversationContext:
    """The private context of one turn: the notes, the history that fits, and the turn's new notes."""

    context: PrivateContext
    history: tuple[HistoryTurn, ...] = ()
    dropped: int = 0  # earlier turns left out for the budget
    turn_notes: str = ""
    meta: dict = field(default_factory=dict)  # to keep with the answer (NOTES_KEY)


def history_turns(store: Store, exchanges: Sequence[Exchange]) -> list[tuple[HistoryTurn, list[int]]]:
    """The answered turns of a branch as the model sees them, each with the chunk ids it showed
    (the first answered turn's notes are the system message's, so it shows none of its own)."""
    turns = []
    first = True
    for exchange in exchanges:
        answer = exchange.answer
        if answer is None or not answer.text.strip():
            continue
        ids = [] if first else list(answer.meta.get(NOTES_KEY) or [])
        first = False
        notes = "\n\n".join(chunk.text for chunk in store.chunks(ids)) if ids else ""
        turns.append((HistoryTurn(exchange.instruction.text, answer.text, notes), ids))
    return turns


def fit_start(costs: Sequence[int], budget: int) -> int:
    """How many of the oldest turns to leave out so the rest cost at most `budget` (see the module doc)."""
    start, total = 0, 0
    for index, cost in enumerate(costs):
        total += cost
        if total > budget:
            while start <= index and total > budget // 2:
                total -= costs[start]
                start += 1
    return start


def turn_cost(turn: HistoryTurn, count: Callable[[str], int]) -> int:
    """Tokens one earlier turn takes in the prompt."""
    return count(turn.instruction) + count(turn.answer) + (count(turn.notes) + TURN_OVERHEAD if turn.notes else 0) \
        + TURN_OVERHEAD


def fit(turns: Sequence[HistoryTurn], budget: int, count: Callable[[str], int]) -> tuple[tuple[HistoryTurn, ...], int]:
    """The turns that fit `budget` tokens (newest kept) and how many were dropped."""
    if budget <= 0:
        return (), len(turns)
    start = fit_start([turn_cost(t, count) for t in turns], budget)
    return tuple(turns[start:]), start


def conversation_context(
    store: Store, exchanges: Sequence[Exchange], instruction: str, k: int, budget: int,
    count: Callable[[str], int], given: PrivateContext | None = None,
) -> ConversationContext:
    """The notes, fitted history and new notes for the next turn after `exchanges`.

    With `given` (notes passed by the caller, e.g. `--context FILE`), those are the notes and
    nothing is retrieved.
    """
    turns = history_turns(store, exchanges)
    history, dropped = fit([turn for turn, _ in turns], budget, count)
    pinned = _first_notes(exchanges)
    if given:
        return ConversationContext(given, history, dropped, meta={NOTES_KEY: []})
    if pinned is None:  # the first turn: what it retrieves are the conversation's notes
        chunks = store.retrieve([instruction], k)
        return ConversationContext(store.context_of(chunks), history, dropped, meta={NOTES_KEY: [c.id for c in chunks]})
    system = store.chunks(pinned)
    shown = {c.id for c in system} | {i for _, ids in turns[dropped:] for i in ids}
    found = store.retrieve([instruction] + [exchange_query(t.instruction, t.answer) for t in history[-2:]], k) \
        if k > 0 else []
    new: list[Chunk] = [c for c in found if c.id not in shown]
    source = f"store: the conversation's notes ({len(system)} chunk(s)), {len(new)} new for this turn"
    return ConversationContext(
        store.context_of(system, source=source), history, dropped,
        turn_notes="\n\n".join(c.text for c in new), meta={NOTES_KEY: [c.id for c in new]},
    )


def _first_notes(exchanges: Sequence[Exchange]) -> list[int] | None:
    """The chunk ids the conversation's first answered turn retrieved (None: no turn yet)."""
    for exchange in exchanges:
        if exchange.answer is not None and exchange.answer.text.strip():
            return list(exchange.answer.meta.get(NOTES_KEY) or [])
    return None


def exchange_query(instruction: str, answer: str) -> str:
    """One turn as a retrieval query, cut to what the embedder reads (the service embeds it as the
    turn ends, so the next turn's retrieval only embeds its own instruction)."""
    return f"{instruction}\n{answer}"[:EXCHANGE_QUERY_CHARS]

"""The answer service: one way through the edge for `tandem ask`, the chat and the daemon.

    service = AnswerService(config, store, agent)
    service.check(request, conversation_id)      # cheap refusals, before any model loads
    turn = service.start(request, conversation_id)
    for piece in turn: ...                       # streams, written to the store as it goes
    turn.report                                  # complete once the loop ends

`start` gives the model the conversation so far: its earlier turns (the active branch, newest
kept within `edge.history_tokens`) and the notes chosen for the whole exchange (see
`store.history`), unless the request carries its own notes. It opens the turn in the
conversation (a new one if none is given; with `edit_of`, a new branch in place of an earlier
instruction) and runs the strategy through the edge agent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from edge_agent.agent import Answer, EdgeAgent
from edge_agent.config import Config
from edge_agent.context import ContextError
from edge_agent.store import AnswerRecorder, Store
from edge_agent.store.conversations import HEAD
from edge_agent.store.history import ConversationContext, conversation_context, exchange_query, fit
from edge_agent.strategies.base import AskRequest
from edge_agent.strategies.report import AnswerReport
from runtime import limits

# Tokens of the context window kept for the system prompt, the notes and the new instruction
# when the history budget is cut to fit a short window (a prompt that still does not fit is
# refused by the edge model with a message naming edge.n_ctx).
HISTORY_RESERVE = 768


class Turn:
    """One answer being written into a conversation: iterate it for the text pieces."""

    def __init__(self, answer: Answer, recorder: AnswerRecorder, context_source: str) -> None:
        self.answer = answer
        self.recorder = recorder
        self.context_source = context_source

    @property
    def report(self) -> AnswerReport:
        return self.answer.report

    @property
    def request_id(self) -> str:
        return self.answer.report.request_id

    @property
    def conversation_id(self) -> int:
        return self.recorder.conversation_id

    @property
    def message_id(self) -> int:
        """The assistant message being written."""
        return self.recorder.answer_message.id

    @property
    def user_message_id(self) -> int:
        """The user's instruction (what an edit of this turn replaces)."""
        return self.recorder.user_message.id

    def __iter__(self) -> Iterator[str]:
        yield from self.recorder.record(self.answer, self.context_source)
        self._prepare_next_turn()

    def _prepare_next_turn(self) -> None:
        """Embed this turn as a retrieval query in the background: the next turn retrieves with it."""
        text = self.answer.report.text
        if not text.strip():
            return
        query = exchange_query(self.recorder.user_message.text, text)
        self.recorder.store.prepare_query_in_background(query)

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop at the next token; the text so far stays in the store, labelled with `reason`."""
        self.recorder.cancel_reason = reason
        self.answer.cancel()

    def stored_meta(self) -> dict[str, Any]:
        """What the store keeps with the answer (the report, and why it stopped early if it did)."""
        return dict(self.recorder.store.get_message(self.message_id).meta)


class AnswerService:
    """Context from the store, the strategy, the record: shared by every way of asking."""

    def __init__(self, config: Config, store: Store, agent: EdgeAgent) -> None:
        self.config = config
        self.store = store
        self.agent = agent
        agent.use_embedder(store.embedder)  # one MiniLM for retrieval and the notes lines of checked/slots

    def load(self) -> None:
        """Load the edge model and the embedder (seconds), so that errors come before any text."""
        self.agent.load()
        self.store.embedder.load()

    def check(self, request: AskRequest, conversation_id: int | None = None, edit_of: int | None = None) -> None:
        """Refuse what cannot be answered, naming the fix; nothing is written and no model loads."""
        if not request.instruction.strip():
            raise ContextError("the instruction is empty: say what to write")
        if request.max_tokens < 1:
            raise ContextError("max_tokens must be at least 1")
        if not limits.temperature_ok(request.temperature):
            raise ContextError(f"temperature must be between {limits.MIN_TEMPERATURE:g} and {limits.MAX_TEMPERATURE:g}")
        self.agent.check(request)
        if conversation_id is not None:
            self.store.get_conversation(conversation_id)  # StoreError naming the id if there is none
        if edit_of is not None:
            if conversation_id is None:
                raise ContextError("an edit names the conversation it belongs to")
            self.store.turns(conversation_id, before=edit_of)  # StoreError unless it is one of its instructions

    def start(self, request: AskRequest, conversation_id: int | None = None, edit_of: int | None = None) -> Turn:
        """Check, give the model the conversation so far, open the turn; the answer runs as the turn is iterated.

        `edit_of` (a user message of the conversation) asks again in its place: the answer starts
        a new branch from the turn before it, and the old branch stays in the store.
        """
        self.check(request, conversation_id, edit_of)
        found = self.conversation(request, conversation_id, edit_of)
        request = replace(request, context=found.context, history=found.history, turn_notes=found.turn_notes)
        answer = self.agent.ask(request)
        answer.report.history_turns, answer.report.history_dropped = len(found.history), found.dropped
        parent = HEAD if edit_of is None else self.store.get_message(edit_of).parent_id
        recorder = AnswerRecorder(self.store, conversation_id, request.instruction, parent_id=parent, meta=found.meta)
        return Turn(answer, recorder, request.context.source)

    def conversation(self, request: AskRequest, conversation_id: int | None,
                     edit_of: int | None = None) -> ConversationContext:
        """The notes and history the model gets for this turn (from the store, for a stored conversation)."""
        budget = self.history_budget(request)
        exchanges = self.store.turns(conversation_id, before=edit_of) if conversation_id is not None else []
        found = conversation_context(
            self.store, exchanges, request.instruction, self.config.daemon.retrieval_k, budget,
            self.agent.edge.count_tokens, given=request.context or None,
        )
        if conversation_id is None and request.history:  # no stored conversation: the caller's history
            history, dropped = fit(request.history, budget, self.agent.edge.count_tokens)
            return replace(found, history=history, dropped=dropped, turn_notes=request.turn_notes)
        return found

    def history_budget(self, request: AskRequest) -> int:
        """Tokens the earlier turns may take: `edge.history_tokens`, less if the context window is short."""
        edge = self.config.edge
        if edge.history_tokens <= 0:
            return 0
        room = edge.n_ctx - request.max_tokens - HISTORY_RESERVE
        return max(0, min(edge.history_tokens, room))

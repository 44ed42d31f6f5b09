"""The answer service: one way through the edge for `tandem ask`, the chat and the daemon.

    service = AnswerService(config, store, agent)
    service.check(request, conversation_id)      # cheap refusals, before any model loads
    turn = service.start(request, conversation_id)
    for piece in turn: ...                       # streams, written to the store as it goes
    turn.report                                  # complete once the loop ends

`start` takes the private context from the store (the profile and the notes relevant to the
instruction) unless the request carries one, opens the turn in the conversation (a new one
if none is given), and runs the strategy through the edge agent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from edge_agent.agent import Answer, EdgeAgent
from edge_agent.config import Config
from edge_agent.context import ContextError
from edge_agent.store import AnswerRecorder, Store
from edge_agent.strategies.base import AskRequest
from edge_agent.strategies.report import AnswerReport
from runtime import limits


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

    def __iter__(self) -> Iterator[str]:
        return self.recorder.record(self.answer, self.context_source)

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

    def load(self) -> None:
        """Load the edge model and the embedder (seconds), so that errors come before any text."""
        self.agent.load()
        self.store.embedder.load()

    def check(self, request: AskRequest, conversation_id: int | None = None) -> None:
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

    def start(self, request: AskRequest, conversation_id: int | None = None) -> Turn:
        """Check, choose the private context, open the turn; the answer runs as the turn is iterated."""
        self.check(request, conversation_id)
        if not request.context:
            request = replace(request, context=self.store.context_for(
                request.instruction, k=self.config.daemon.retrieval_k))
        answer = self.agent.ask(request)
        recorder = AnswerRecorder(self.store, conversation_id, request.instruction)
        return Turn(answer, recorder, request.context.source)

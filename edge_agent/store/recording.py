"""Write an answer into a conversation while it streams (used by the daemon and in process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from edge_agent.store.conversations import HEAD
from edge_agent.store.types import Message
from edge_agent.strategies.report import AnswerReport, report_to_dict

if TYPE_CHECKING:
    from edge_agent.agent import Answer
    from edge_agent.store.store import Store


def report_meta(report: AnswerReport, context_source: str = "") -> dict:
    """What the store keeps with an answer: its whole report (the text is the message itself)."""
    meta = report_to_dict(report)
    meta.pop("text", None)
    meta["context_source"] = context_source
    return meta


class AnswerRecorder:
    """The user's turn and the streaming answer of one request, in one conversation."""

    def __init__(self, store: Store, conversation_id: int | None, instruction: str, parent_id: int | None = HEAD,
                 meta: dict | None = None) -> None:
        """Write the user's turn after `parent_id` (default: the conversation's head) and an empty answer.

        `meta` is kept with the answer besides its report (e.g. the notes first shown in this turn).
        """
        self.store = store
        if conversation_id is None:
            conversation_id = store.create_conversation().id
        self.conversation_id = conversation_id
        self.meta = dict(meta or {})
        self.user_message: Message = store.add_message(conversation_id, "user", instruction, parent_id=parent_id)
        self.answer_message: Message = store.add_message(conversation_id, "assistant", "", complete=False,
                                                         meta=self.meta, parent_id=self.user_message.id)
        self.cancel_reason = "cancelled"  # what an answer stopped by `report.cancel` is labelled with

    def record(self, answer: Answer, context_source: str = "") -> Iterator[str]:
        """Yield the answer's pieces, writing each one before it is passed on."""
        reason = ""
        try:
            for piece in answer:
                self.store.append_to_message(self.answer_message.id, piece)
                yield piece
        except GeneratorExit:  # our consumer left (e.g. the client disconnected): stop generating too
            reason = "the client went away"
            self._stop(answer)
            raise
        except KeyboardInterrupt:
            reason = "interrupted (Ctrl-C)"
            self._stop(answer)
            raise
        except BaseException as exc:
            reason = f"stopped by an error: {exc}"
            self._stop(answer)
            raise
        else:
            if answer.report.cancel.is_set():
                reason = self.cancel_reason
        finally:
            meta = {**self.meta, **report_meta(answer.report, context_source)}
            if reason:
                self.store.mark_interrupted(self.answer_message.id, reason, meta)
            else:
                self.store.finish_message(self.answer_message.id, meta)

    @staticmethod
    def _stop(answer: Answer) -> None:
        answer.cancel()
        close = getattr(answer.pieces, "close", None)
        if close is not None:
            close()  # runs the generator's cleanup now: releases the edge model for the next request

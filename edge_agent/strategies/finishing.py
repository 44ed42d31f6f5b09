"""The edge's finish of a draft, shared by `checked` and `slots`: fill its slots from the notes,
tidy it, and repair it with the relevant notes lines it leaves out (edge_agent.collab.finish).

Nothing here sends anything: the extra edge calls run on the shared edge model under its lock.
The finished text is returned whole, so these strategies stream nothing until it is ready
(as best-of does): what streams is what the user keeps, and the time to first text is the total.
In a conversation the edge's saved KV state holds the draft, not the finished text, so a
follow-up reuses the cached prompt only up to the previous answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from edge_agent.collab import Generate
from edge_agent.collab.finish import FinishSettings, finish_answer
from edge_agent.strategies.base import AskRequest
from edge_agent.strategies.context import StrategyContext
from edge_agent.strategies.report import AnswerReport
from runtime.decode import DecodeResult
from runtime.llm import ChatMessage

SETTINGS = FinishSettings()  # up to 4 relevant lines; a repair adds at most 3


def edge_generate(ctx: StrategyContext, report: AnswerReport) -> Generate:
    """Greedy short generations on the shared edge model (under its lock), counted in the report."""

    def generate(messages: Sequence[ChatMessage], max_tokens: int) -> str:
        result = DecodeResult()
        with ctx.edge.lock:
            try:
                return "".join(ctx.edge.model.stream_chat(
                    messages, max_tokens=max_tokens, temperature=0.0, seed=0,
                    should_stop=report.cancel.is_set, result=result,
                ))
            finally:
                report.edge_tokens += result.completion_tokens

    return generate


def finish(ctx: StrategyContext, request: AskRequest, report: AnswerReport, draft: str) -> str:
    """`draft` filled, tidied and repaired against the request's notes; the report records what changed."""
    notes = request.context.lines + [line.strip() for line in request.turn_notes.splitlines() if line.strip()]
    report.draft = draft
    if report.cancel.is_set() or not draft.strip():
        return draft
    done = finish_answer(edge_generate(ctx, report), ctx.embedder, draft, request.instruction, notes, SETTINGS)
    report.notes_used = list(done.relevant)
    report.slot_values, report.slots_dropped = dict(done.values), list(done.dropped)
    report.repair_added = list(done.added)
    return done.text

"""slots: the cloud writes the whole text for the redacted instruction, with a typed slot
("[landlord's name]", "[date the guests arrive]") for every detail it cannot know; the edge fills
the slots from the notes and finishes the text as `checked` does.

The cloud sees only the redacted instruction (and the conversation's earlier turns, redacted, as
every cloud strategy sends them) and the constant `collab.slots.SLOT_SYSTEM`, through
the request's CloudClient (which redacts and audits what it sends). When the cloud cannot answer,
the edge writes the answer alone (the `checked` strategy), like the other cloud strategies.
"""

from __future__ import annotations

from collections.abc import Iterator

from edge_agent.cloud_client import CloudError
from edge_agent.collab.slots import SLOT_SYSTEM
from edge_agent.strategies.base import AskRequest
from edge_agent.strategies.checked import run_checked
from edge_agent.strategies.context import StrategyContext
from edge_agent.strategies.finishing import finish
from edge_agent.strategies.report import AnswerReport


def run_slots(ctx: StrategyContext, request: AskRequest, report: AnswerReport) -> Iterator[str]:
    """The cloud's slot draft of the redacted instruction, filled and finished on the edge; yielded whole."""
    try:
        draft = "".join(ctx.cloud.generate(
            request.instruction, system=SLOT_SYSTEM, max_tokens=request.max_tokens,
            temperature=request.temperature, seed=request.seed, history=request.cloud_history,
        ))
    except CloudError as exc:
        if not exc.fallback_ok:
            raise
        report.fallback = f"{exc}; the edge model wrote the answer alone (checked)"
        yield from run_checked(ctx, request, report)
        return
    if not draft.strip():
        report.fallback = "the cloud's draft was empty; the edge model wrote the answer alone (checked)"
        yield from run_checked(ctx, request, report)
        return
    report.answered_by = "edge+cloud"
    text = finish(ctx, request, report, draft)
    if text:
        yield text

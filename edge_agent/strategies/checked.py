"""checked: the edge strategy's answer, then fact-checked and repaired on the device against the
notes lines the request needs. Nothing leaves the device.

The draft is written with the edge strategy's prompt (notes, history, instruction); `finishing.finish` fills any bracketed
slot the small model left ("[Landlord's Name]"), drops repeated sentences and an unfinished
tail, and adds the relevant notes lines the draft leaves out. Nothing streams until that is done.
"""

from __future__ import annotations

from collections.abc import Iterator

from edge_agent.strategies import prompts
from edge_agent.strategies.base import AskRequest
from edge_agent.strategies.context import StrategyContext
from edge_agent.strategies.finishing import finish
from edge_agent.strategies.report import AnswerReport


def run_checked(ctx: StrategyContext, request: AskRequest, report: AnswerReport) -> Iterator[str]:
    """The edge answer, filled, tidied and repaired with the relevant notes lines; yielded whole."""
    report.answered_by = "edge"
    draft = "".join(ctx.edge.stream(prompts.request_messages(request), request, report))
    text = finish(ctx, request, report, draft)
    if text:
        yield text

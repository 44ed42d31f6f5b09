"""edge: the small model alone, with the private notes. Nothing leaves the device."""

from __future__ import annotations

from collections.abc import Iterator

from edge_agent.strategies import prompts
from edge_agent.strategies.base import AskRequest
from edge_agent.strategies.context import StrategyContext
from edge_agent.strategies.report import AnswerReport


def run_edge(ctx: StrategyContext, request: AskRequest, report: AnswerReport) -> Iterator[str]:
    """The small model alone, with the private notes. Nothing leaves the device."""
    report.answered_by = "edge"
    yield from ctx.edge.stream(prompts.request_messages(request), request, report)

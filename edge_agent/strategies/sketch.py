"""sketch (CoGenesis): the cloud outlines the redacted instruction; the edge writes with the notes."""

from __future__ import annotations

from collections.abc import Iterator

from edge_agent.cloud_client import CloudError
from edge_agent.strategies import prompts
from edge_agent.strategies.base import AskRequest
from edge_agent.strategies.context import StrategyContext
from edge_agent.strategies.report import AnswerReport


def run_sketch(ctx: StrategyContext, request: AskRequest, report: AnswerReport) -> Iterator[str]:
    """CoGenesis sketch: the cloud outlines the redacted instruction; the edge writes with the notes."""
    try:
        report.sketch = ctx.cloud.sketch(
            request.instruction, max_tokens=ctx.config.cloud.sketch_max_tokens, seed=request.seed,
            history=request.cloud_history,
        )
        report.answered_by = "edge+cloud"
    except CloudError as exc:
        if not exc.fallback_ok:
            raise
        report.fallback = f"{exc}; the edge model wrote the answer without an outline"
        report.answered_by = "edge"
    yield from ctx.edge.stream(prompts.request_messages(request, report.sketch), request, report)

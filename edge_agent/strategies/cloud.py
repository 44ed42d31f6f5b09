"""Strategies where the cloud model writes: cloud-public (redacted instruction only) and the opt-in baseline."""

from __future__ import annotations

from collections.abc import Iterator

from edge_agent.cloud_client import CloudError
from edge_agent.strategies import prompts
from edge_agent.strategies.base import AskRequest, StrategyRefused
from edge_agent.strategies.context import StrategyContext
from edge_agent.strategies.report import AnswerReport


def run_cloud_public(ctx: StrategyContext, request: AskRequest, report: AnswerReport) -> Iterator[str]:
    """The cloud model answers the redacted instruction without any notes; placeholders are restored."""
    report.answered_by = "cloud"
    written = ""
    try:
        for piece in ctx.cloud.generate(
            request.instruction, system=prompts.CLOUD_PUBLIC_SYSTEM, max_tokens=request.max_tokens,
            temperature=request.temperature, seed=request.seed, history=request.cloud_history,
        ):
            written += piece
            yield piece
        return
    except CloudError as exc:
        if not exc.fallback_ok:
            raise
        report.fallback = f"{exc}; the edge model {'finished' if written else 'wrote'} the answer alone"
    report.answered_by = "edge+cloud" if written else "edge"
    messages = prompts.request_messages(request)
    yield from ctx.edge.stream(messages, request, report, assistant_prefix=written)


def run_cloud_with_context(ctx: StrategyContext, request: AskRequest, report: AnswerReport) -> Iterator[str]:
    """OPT-IN upper-bound baseline: the cloud gets the private notes. Off unless configured."""
    if not ctx.config.cloud.allow_context:
        raise StrategyRefused(
            "strategy cloud-with-context sends your private notes to the cloud and is off; "
            f"to enable it for a benchmark set `allow_context = true` under [cloud] in {ctx.config.file_label}"
        )
    report.context_sent = True
    report.answered_by = "cloud"
    yield from ctx.cloud.generate(
        request.instruction, system=prompts.cloud_context_system(request.context),
        max_tokens=request.max_tokens, temperature=request.temperature, seed=request.seed,
        context_optin=True, history=request.cloud_history,
    )

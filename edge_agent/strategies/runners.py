"""The strategies: edge, cloud-public, sketch, and the opt-in cloud-with-context baseline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterator

from edge_agent.cloud_client import CloudClient, CloudError
from edge_agent.strategies import prompts
from edge_agent.strategies.base import AnswerReport, AskRequest

if TYPE_CHECKING:
    from edge_agent.agent import EdgeAgent

Runner = Callable[["EdgeAgent", AskRequest, AnswerReport, CloudClient], Iterator[str]]


class StrategyRefused(RuntimeError):
    """The strategy may not run with this configuration; the message says how to enable it."""


def run_edge(agent: "EdgeAgent", request: AskRequest, report: AnswerReport, cloud: CloudClient) -> Iterator[str]:
    """The small model alone, with the private notes. Nothing leaves the device."""
    report.answered_by = "edge"
    yield from agent.stream_edge(prompts.edge_messages(request.instruction, request.context), request, report)


def run_cloud_public(agent: "EdgeAgent", request: AskRequest, report: AnswerReport, cloud: CloudClient) -> Iterator[str]:
    """The cloud model answers the redacted instruction without any notes; placeholders are restored."""
    report.answered_by = "cloud"
    written = ""
    try:
        for piece in cloud.generate(
            request.instruction, system=prompts.CLOUD_PUBLIC_SYSTEM, max_tokens=request.max_tokens,
            temperature=request.temperature, seed=request.seed,
        ):
            written += piece
            yield piece
        return
    except CloudError as exc:
        if not exc.fallback_ok:
            raise
        report.fallback = f"{exc}; the edge model {'finished' if written else 'wrote'} the answer alone"
    report.answered_by = "edge+cloud" if written else "edge"
    messages = prompts.edge_messages(request.instruction, request.context)
    yield from agent.stream_edge(messages, request, report, assistant_prefix=written)


def run_sketch(agent: "EdgeAgent", request: AskRequest, report: AnswerReport, cloud: CloudClient) -> Iterator[str]:
    """CoGenesis sketch: the cloud outlines the redacted instruction; the edge writes with the notes."""
    try:
        report.sketch = cloud.sketch(
            request.instruction, max_tokens=agent.config.cloud.sketch_max_tokens, seed=request.seed
        )
        report.answered_by = "edge+cloud"
    except CloudError as exc:
        if not exc.fallback_ok:
            raise
        report.fallback = f"{exc}; the edge model wrote the answer without an outline"
        report.answered_by = "edge"
    if report.sketch:
        messages = prompts.sketch_messages(request.instruction, request.context, report.sketch)
    else:
        messages = prompts.edge_messages(request.instruction, request.context)
    yield from agent.stream_edge(messages, request, report)


def run_cloud_with_context(
    agent: "EdgeAgent", request: AskRequest, report: AnswerReport, cloud: CloudClient
) -> Iterator[str]:
    """OPT-IN upper-bound baseline: the cloud gets the private notes. Off unless configured."""
    if not agent.config.cloud.allow_context:
        raise StrategyRefused(
            "strategy cloud-with-context sends your private notes to the cloud and is off; "
            f"to enable it for a benchmark set `allow_context = true` under [cloud] in {agent.config_file}"
        )
    report.context_sent = True
    report.answered_by = "cloud"
    yield from cloud.generate(
        request.instruction, system=prompts.cloud_context_system(request.context),
        max_tokens=request.max_tokens, temperature=request.temperature, seed=request.seed,
        context_optin=True,
    )


RUNNERS: dict[str, Runner] = {
    "edge": run_edge,
    "cloud-public": run_cloud_public,
    "sketch": run_sketch,
    "cloud-with-context": run_cloud_with_context,
}

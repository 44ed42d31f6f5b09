"""The strategies: edge, cloud-public, sketch, and the opt-in cloud-with-context baseline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterator

import grpc

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


def run_fuse(agent: "EdgeAgent", request: AskRequest, report: AnswerReport, cloud: CloudClient) -> Iterator[str]:
    """Logit fusion over a cloud session, speculative; private spans decoded on the edge alone."""
    from edge_agent.fusion import FusedDecoder, FuseSettings, make_rule
    from edge_agent.fusion.spans import SpanWatcher

    settings = agent.config.fuse
    edge = agent.edge_model
    rule = make_rule(settings.rule, settings.cloud_weight, settings.gate_path(), settings.alpha)
    channel = cloud.fuse(edge.detokenize, request.max_tokens)
    first_row = None
    try:
        first_row = channel.open(request.instruction, prompts.CLOUD_PUBLIC_SYSTEM, edge.vocab_fingerprint, settings.top_k)
        report.answered_by = "edge+cloud"
    except CloudError as exc:
        channel.close()
        if exc.code == grpc.StatusCode.FAILED_PRECONDITION:
            report.fallback = f"{exc}; answered with the sketch strategy instead"
            yield from run_sketch(agent, request, report, cloud)
            return
        if not exc.fallback_ok:
            raise
        report.fallback = f"{exc}; the edge model wrote the answer alone"
        report.answered_by = "edge"
    messages = prompts.edge_messages(request.instruction, request.context)
    decoder = FusedDecoder(
        edge.llm, edge.chat_tokens(messages), channel if first_row is not None else None, rule,
        SpanWatcher(cloud.guard),
        FuseSettings(max_tokens=request.max_tokens, draft=settings.draft, top_k=settings.top_k,
                     temperature=request.temperature, seed=request.seed),
        base_row=agent.proxy_base_row(messages) if settings.rule == "proxy" else None,
        should_stop=report.cancel.is_set,
    )
    report.fuse = decoder.stats
    with agent.edge_lock:
        try:
            yield from decoder.run(first_row)
        finally:
            report.edge_tokens += decoder.stats.tokens
    if decoder.stats.cloud_lost:
        report.fallback = f"the cloud was lost mid-answer ({decoder.stats.cloud_lost}); the edge finished alone"


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
    "fuse": run_fuse,
    "cloud-with-context": run_cloud_with_context,
}


def _best_of(agent: "EdgeAgent", request: AskRequest, report: AnswerReport, cloud: CloudClient) -> Iterator[str]:
    from edge_agent.strategies.best_of import run_best_of

    return run_best_of(agent, request, report, cloud)


RUNNERS["best-of"] = _best_of

"""fuse: logit fusion over a cloud session, speculative; private spans decoded on the edge alone."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from edge_agent.cloud_client import CloudError
from edge_agent.fusion import FusedDecoder, FuseSettings, make_rule
from edge_agent.fusion.spans import SpanWatcher
from edge_agent.strategies import prompts
from edge_agent.strategies.base import AskRequest
from edge_agent.strategies.context import StrategyContext
from edge_agent.strategies.report import AnswerReport
from edge_agent.strategies.sketch import run_sketch


def run_fuse(ctx: StrategyContext, request: AskRequest, report: AnswerReport) -> Iterator[str]:
    """Logit fusion over a cloud session, speculative; private spans decoded on the edge alone."""
    settings = ctx.config.fuse
    edge = ctx.edge.model
    rule = make_rule(settings.rule, settings.cloud_weight, settings.gate_path(), settings.alpha)
    channel = ctx.cloud.fuse(edge.detokenize, request.max_tokens)
    first_row = None
    try:
        first_row = channel.open(request.instruction, prompts.CLOUD_PUBLIC_SYSTEM, edge.vocab_fingerprint,
                                 settings.top_k, history=request.cloud_history)
        report.answered_by = "edge+cloud"
    except CloudError as exc:
        channel.close()
        if exc.code == grpc.StatusCode.FAILED_PRECONDITION:
            report.fallback = f"{exc}; answered with the sketch strategy instead"
            yield from run_sketch(ctx, request, report)
            return
        if not exc.fallback_ok:
            raise
        report.fallback = f"{exc}; the edge model wrote the answer alone"
        report.answered_by = "edge"
    messages = prompts.request_messages(request)
    decoder = FusedDecoder(
        edge.llm, edge.chat_tokens(messages), channel if first_row is not None else None, rule,
        SpanWatcher(ctx.cloud.guard),
        FuseSettings(max_tokens=request.max_tokens, draft=settings.draft, top_k=settings.top_k,
                     temperature=request.temperature, seed=request.seed),
        base_row=ctx.edge.proxy_base_row(messages) if settings.rule == "proxy" else None,
        should_stop=report.cancel.is_set,
    )
    report.fuse = decoder.stats
    with ctx.edge.lock:
        try:
            yield from decoder.run(first_row)
        finally:
            report.edge_tokens += decoder.stats.tokens
    if decoder.stats.cloud_lost:
        report.fallback = f"the cloud was lost mid-answer ({decoder.stats.cloud_lost}); the edge finished alone"

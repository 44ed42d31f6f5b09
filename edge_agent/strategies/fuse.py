"""fuse: logit fusion over a cloud session; the edge asks the cloud where it is unsure, private spans stay on the edge.

With `fuse.finish` (the default) the fused answer is then finished on the edge as checked's and
slots' are (`finishing.finish`: a slot such as "[Landlord's Name]" filled from the notes, an
unfinished tail dropped, the relevant notes lines it leaves out added) and shown whole; without
it the fused tokens stream as they are committed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import grpc

from edge_agent.cloud_client import CloudError
from edge_agent.fusion import FusedDecoder, FuseSettings, make_rule
from edge_agent.fusion.base import BaseModelRows, BaseRows, WithoutNotes
from edge_agent.fusion.spans import SpanWatcher
from edge_agent.privacy import CopyDetector
from edge_agent.strategies import prompts
from edge_agent.strategies.base import AskRequest
from edge_agent.strategies.context import StrategyContext
from edge_agent.strategies.finishing import finish
from edge_agent.strategies.report import AnswerReport
from edge_agent.strategies.sketch import run_sketch
from protos import tandem_pb2 as pb
from runtime.llm import ChatMessage


def run_fuse(ctx: StrategyContext, request: AskRequest, report: AnswerReport) -> Iterator[str]:
    """The fused answer, finished on the edge and yielded whole (`fuse.finish`), or streamed as it is fused."""
    if not ctx.config.fuse.finish:
        yield from _fused(ctx, request, report)
        return
    text = finish(ctx, request, report, "".join(_fused(ctx, request, report)))
    if text:
        yield text


def _fused(ctx: StrategyContext, request: AskRequest, report: AnswerReport) -> Iterator[str]:
    """Logit fusion over a cloud session; the edge asks the cloud where it is unsure, private spans stay on the edge.

    The cloud opens the session (reads its prompt) while the edge reads its own.
    """
    settings = ctx.config.fuse
    edge = ctx.edge.model
    guard = ctx.cloud.guard
    rule = make_rule(settings.rule, settings.cloud_weight, settings.gate_path(), settings.alpha)
    channel = ctx.cloud.fuse(edge.detokenize, request.max_tokens)
    messages = prompts.request_messages(request)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fuse-open") as pool:
        opening = pool.submit(channel.open, request.instruction, prompts.CLOUD_PUBLIC_SYSTEM, edge.vocab_fingerprint,
                              settings.top_k, request.cloud_history)
        try:
            with ctx.edge.lock:
                decoder = FusedDecoder(
                    edge.llm, edge.chat_tokens(messages), channel, rule,
                    SpanWatcher(guard, CopyDetector(request.context.guard_lines, request.instruction)),
                    FuseSettings(max_tokens=request.max_tokens, draft=settings.draft, top_k=settings.top_k,
                                 temperature=request.temperature, seed=request.seed, mode=settings.mode,
                                 confidence=settings.confidence, ahead=settings.ahead),
                    base=_base(ctx, request, messages), should_stop=report.cancel.is_set,
                )
                decoder.prefill()
        except BaseException:
            if not opening.cancel():
                opening.exception()  # let the open finish before its channel closes
            channel.close()
            raise
        first_row: pb.TopK | None = None
        try:
            first_row = opening.result()
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
    report.fuse = decoder.stats
    with ctx.edge.lock:
        try:
            yield from decoder.run(first_row)
        finally:
            report.edge_tokens += decoder.stats.tokens
    if decoder.stats.cloud_lost:
        report.fallback = f"the cloud refused or was lost mid-answer ({decoder.stats.cloud_lost}); the edge finished alone"


def _base(ctx: StrategyContext, request: AskRequest, messages: list[ChatMessage]) -> BaseRows | None:
    """The base distribution the rule needs, if any (call with the edge's lock held)."""
    settings = ctx.config.fuse
    if settings.rule == "delta":
        # the edge reading what the cloud reads: its system prompt, the redacted turns and instruction
        instruction, turns = ctx.cloud.redacted(request.instruction, request.cloud_history)
        view = cloud_view(instruction, [(turn.instruction, turn.answer) for turn in turns])
        return WithoutNotes(ctx.edge.model.llm, ctx.edge.model.chat_tokens(view), fixed=settings.mode == "exact")
    if settings.rule == "proxy":
        return BaseModelRows(ctx.edge.proxy_base_row(messages))
    return None


def cloud_view(redacted_instruction: str, redacted_history: Sequence[tuple[str, str]] = ()) -> list[ChatMessage]:
    """What the cloud reads of a fused answer's request: its system prompt, the redacted earlier turns
    and the redacted instruction (the cloud renders them as chat turns, `Prompt.chat`)."""
    turns = [ChatMessage(role, text) for i, a in redacted_history for role, text in (("user", i), ("assistant", a))]
    return [ChatMessage("system", prompts.CLOUD_PUBLIC_SYSTEM), *turns, ChatMessage("user", redacted_instruction)]

"""best-of: gather candidates from several strategies, score them, verify the best, repair if needed.

Candidates come from `best_of.strategies` (e.g. edge, sketch, fuse) plus `best_of.samples`
sampled edge answers. The scorer ranks them; the verifier checks the top one; while it
is not judged correct (C), the next-ranked candidate is verified (bounded by
`best_of.max_verify`). The answer is the first candidate judged C, else the top-scored.
Nothing streams until the choice is made (the candidates are written first).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from edge_agent.strategies.base import AskRequest
from edge_agent.strategies.context import StrategyContext
from edge_agent.strategies.report import AnswerReport, Candidate


def run_best_of(ctx: StrategyContext, request: AskRequest, report: AnswerReport) -> Iterator[str]:
    """Several candidates, scored and verified on the device; the best is returned."""
    settings = ctx.config.best_of
    plans = [(name, request) for name in settings.strategy_list()]
    plans += [("edge", replace(request, temperature=0.8, seed=request.seed + 1 + i)) for i in range(settings.samples)]
    candidates: list[Candidate] = []
    fallbacks: list[str] = []
    for name, sub_request in plans:
        if report.cancel.is_set():
            return
        sub_report = AnswerReport(strategy=name, request_id=report.request_id, cancel=report.cancel)
        text = "".join(ctx.run(name, sub_request, sub_report)).strip()
        report.edge_tokens += sub_report.edge_tokens
        if sub_report.fallback:
            fallbacks.append(f"{name}: {sub_report.fallback}")
        if text:
            label = name if sub_request is request else f"{name} (sample, seed {sub_request.seed})"
            candidates.append(Candidate(label, text))
    if not candidates:
        report.fallback = "; ".join(fallbacks) or "no candidate answer"
        return
    notes = request.context.text
    scores = ctx.quality.score(request.instruction, notes, [c.text for c in candidates])
    for candidate, score in zip(candidates, scores or [None] * len(candidates)):
        candidate.score = score
    ranked = sorted(candidates, key=lambda c: -(c.score if c.score is not None else 0.0))
    chosen = ranked[0]
    for candidate in ranked[: max(1, settings.max_verify)]:
        if report.cancel.is_set():
            break
        with ctx.edge.lock:
            verdict = ctx.quality.verify(ctx.edge.model, request.instruction, notes, candidate.text)
        candidate.verdict, candidate.verdict_probs = verdict.label, dict(verdict.probs)
        if verdict.label == "C":
            chosen = candidate
            break
    report.candidates = candidates
    report.chosen = chosen.strategy
    report.score, report.verdict, report.verdict_probs = chosen.score, chosen.verdict, chosen.verdict_probs
    report.answered_by = "edge+cloud" if ctx.cloud.stats.rpcs else "edge"
    if fallbacks:
        report.fallback = "; ".join(fallbacks)
    yield chosen.text

"""Aggregate benchmark rows per strategy, and print them as a text table and a Markdown report.

Quality (fact recall, judge, scorer) and wire figures are means over the tasks; latencies
are medians, which a burst of load on a shared machine moves less. Leaks are totals.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.pairwise import Preserved
from bench.results import Row

OPT_IN = "cloud-with-context"  # the baseline that sends the notes on purpose
TARGET_SHARE = 0.95  # the target: at or above 95% of the opt-in baseline


@dataclass
class StrategySummary:
    strategy: str
    tasks: int = 0  # answered (error-free) tasks
    errors: int = 0
    opt_in: bool = False  # the private notes were sent to the cloud
    fact_recall: float | None = None
    judge: float | None = None
    judged: int = 0
    preserved: float | None = None  # pairwise: share of tasks judged at least as good as the opt-in baseline
    pair_judged: int = 0
    scorer: float | None = None
    leaked: int = 0  # canaries found in what the cloud received, summed over tasks
    tasks_leaking: int = 0
    first_text_s: float | None = None
    total_s: float | None = None
    tok_s: float | None = None
    bytes_up: float = 0.0
    bytes_down: float = 0.0
    rpcs: float = 0.0
    fallbacks: int = 0
    audit_mismatches: int = 0  # answers where the captured bytes differ from the audit log
    error_samples: list[str] = field(default_factory=list)


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(rows: Sequence[Row], strategies: Sequence[str]) -> list[StrategySummary]:
    """One summary per strategy, in the order given (strategies without rows included)."""
    out = []
    for strategy in strategies:
        mine = [r for r in rows if r.key.strategy == strategy]
        ok = [r for r in mine if not r.error]
        s = StrategySummary(strategy, tasks=len(ok), errors=len(mine) - len(ok))
        s.error_samples = sorted({r.error for r in mine if r.error})[:3]
        s.opt_in = strategy == OPT_IN or any(r.context_sent for r in mine)
        s.leaked = sum(len(r.leaked) for r in mine)  # a failed answer may have sent something too
        s.tasks_leaking = sum(bool(r.leaked) for r in mine)
        if ok:
            s.fact_recall = _mean([r.fact_recall for r in ok])
            s.judge = _mean([r.judge for r in ok])
            s.judged = sum(r.judge is not None for r in ok)
            s.scorer = _mean([r.scorer for r in ok])
            s.first_text_s = _median([r.first_text_s for r in ok])
            s.total_s = _median([r.total_s for r in ok])
            s.tok_s = _median([r.tok_s for r in ok])
            s.bytes_up = statistics.fmean(r.bytes_up for r in ok)
            s.bytes_down = statistics.fmean(r.bytes_down for r in ok)
            s.rpcs = statistics.fmean(r.rpcs for r in ok)
            s.fallbacks = sum(bool(r.fallback) for r in ok)
            s.audit_mismatches = sum(not r.capture_matches_audit for r in ok)
        out.append(s)
    return out


def add_preserved(summaries: Sequence[StrategySummary], preserved: Sequence[Preserved]) -> None:
    """Attach the pairwise judge's preserved share to the summaries of the same strategies."""
    by_name = {p.strategy: p for p in preserved}
    for s in summaries:
        p = by_name.get(s.strategy)
        if p is not None:
            s.preserved, s.pair_judged = p.preserved, p.judged


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _label(s: StrategySummary) -> str:
    return f"{s.strategy} (opt-in*)" if s.opt_in else s.strategy


def table_rows(summaries: Sequence[StrategySummary], with_scorer: bool, show_judge: bool = True,
               show_preserved: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and cells shared by the text table and the Markdown one. A judge that failed its
    agreement check is left out (`show_judge`, `show_preserved` false)."""
    header = ["strategy", "tasks", "fact recall"]
    if show_preserved:
        header.append("preserved")
    if show_judge:
        header.append("judge 1-10")
    if with_scorer:
        header.append("scorer")
    header += ["leaks", "TTFT s", "total s", "tok/s", "bytes up", "bytes down", "RPCs", "fallbacks", "errors"]
    cells = []
    for s in summaries:
        row = [_label(s), str(s.tasks), _num(s.fact_recall)]
        if show_preserved:
            row.append("n/a" if s.preserved is None else f"{s.preserved:.0%}")
        if show_judge:
            row.append(_num(s.judge))
        if with_scorer:
            row.append(_num(s.scorer))
        row += [
            f"{s.leaked} in {s.tasks_leaking} tasks" if s.leaked else "0",
            _num(s.first_text_s), _num(s.total_s), _num(s.tok_s, 1),
            f"{s.bytes_up:.0f}", f"{s.bytes_down:.0f}", f"{s.rpcs:.1f}", str(s.fallbacks), str(s.errors),
        ]
        cells.append(row)
    return header, cells


def format_table(summaries: Sequence[StrategySummary], with_scorer: bool, show_judge: bool = True,
                 show_preserved: bool = False) -> str:
    """The summaries as an aligned text table (for the console)."""
    header, cells = table_rows(summaries, with_scorer, show_judge, show_preserved)
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    for row in cells:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    if any(s.opt_in for s in summaries):
        lines.append("* opt-in baseline: sends the private notes to the cloud (cloud.allow_context = true for the bench only)")
    return "\n".join(lines)


def markdown_table(summaries: Sequence[StrategySummary], with_scorer: bool, show_judge: bool = True,
                   show_preserved: bool = False) -> str:
    """The summaries as a Markdown table (for report.md)."""
    header, cells = table_rows(summaries, with_scorer, show_judge, show_preserved)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


PRESERVED_TARGET = 0.7  # issue 18: the best private strategy preserves 70% or more


def target_lines(summaries: Sequence[StrategySummary], metrics: Sequence[str] = ("fact_recall", "judge")) -> list[str]:
    """The issue's targets: zero leaks but for the opt-in baseline; each collaborative strategy
    at or above edge alone and at 95% or more of the baseline on fact recall and judge (the
    `metrics` that passed their checks), and preserved at or above 70% when it is one of them."""
    by_name = {s.strategy: s for s in summaries}
    lines = []
    for s in summaries:
        if not s.opt_in:
            verdict = "met" if s.leaked == 0 else f"MISSED ({s.leaked} canaries leaked)"
            lines.append(f"- `{s.strategy}`: zero leaks: {verdict}")
    edge, base = by_name.get("edge"), by_name.get(OPT_IN)
    for s in summaries:
        if s.strategy in ("edge", "cloud-public") or s.opt_in:
            continue
        if "preserved" in metrics and s.preserved is not None:
            verdict = "met" if s.preserved >= PRESERVED_TARGET else "missed"
            lines.append(f"- `{s.strategy}` preserved: {s.preserved:.0%} of tasks at least as good as {OPT_IN} "
                         f"(target {PRESERVED_TARGET:.0%}: {verdict})")
        for metric in (m for m in metrics if m != "preserved"):
            mine = getattr(s, metric)
            if mine is None:
                continue
            parts = []
            if edge is not None and getattr(edge, metric) is not None:
                ref = getattr(edge, metric)
                parts.append(f"{'>=' if mine >= ref else '<'} edge ({mine:.2f} vs {ref:.2f})")
            if base is not None and getattr(base, metric):
                share = mine / getattr(base, metric)
                parts.append(f"{share:.0%} of {OPT_IN} ({'met' if share >= TARGET_SHARE else 'missed'})")
            if parts:
                lines.append(f"- `{s.strategy}` {metric.replace('_', ' ')}: " + ", ".join(parts))
    return lines


def per_task_table(rows: Sequence[Row], strategies: Sequence[str], task_ids: Sequence[str]) -> str:
    """Fact recall / judge score of every (task, strategy), for looking at single answers."""
    cell = {(r.key.task_id, r.key.strategy): r for r in rows}
    lines = ["| task | " + " | ".join(strategies) + " |", "|---|" + "---:|" * len(strategies)]
    for task_id in task_ids:
        parts = []
        for strategy in strategies:
            r = cell.get((task_id, strategy))
            if r is None:
                parts.append("")
            elif r.error:
                parts.append("error")
            else:
                parts.append(f"{r.fact_recall:.2f} / {_num(r.judge, 1)}" + (" leak" if r.leaked else ""))
        lines.append(f"| {task_id} | " + " | ".join(parts) + " |")
    return "\n".join(lines)

"""The pairwise step of `tandem bench quality`: judge every answer against the opt-in baseline's, and decide
which judges may headline the report (those that pass their agreement check).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from bench import pairwise
from bench.results import ResultCache, Row
from bench.tasks import Task

Progress = Callable[[str], None]

PAIR_HOW = {
    "points": "each answer is scored alone from the next-token logits (the mean P(yes) over yes/no questions on "
              "whether it uses the user's details from the notes correctly and is ready to send), and the two scores "
              "of a task are compared.",
    "ab": "both answers in one prompt, \"which is better, A or B?\", asked in both orders; the preference is "
          "P(A) against P(B) from the next-token logits.",
}[pairwise.PROMPT.method]

def _seconds(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def judge_pairs(make_judge: Callable[[], pairwise.PairwiseJudge], rows: Sequence[Row], tasks: Sequence[Task],
                cache: ResultCache, judge_model: str, progress: Progress) -> int:
    """Compare every answer with the opt-in baseline's where the verdict is missing or stale; return how many.

    `make_judge` loads the judge only when something is left to judge; each verdict is written to `cache`.
    """
    if not any(r.key.strategy == pairwise.BASELINE for r in rows):
        return 0
    by_task: dict[str, dict[str, Row]] = {}
    for row in rows:
        by_task.setdefault(row.key.task_id, {})[row.key.strategy] = row

    def needs_judging(task: Task) -> bool:
        mine = by_task.get(task.id, {})
        base = mine.get(pairwise.BASELINE)
        return base is not None and not base.error and any(
            not r.error and pairwise.stored_verdict(r, base, judge_model) is None for r in mine.values())

    stale = [t for t in tasks if needs_judging(t)]
    if not stale:
        return 0
    progress(f"pairwise judge ({pairwise.METHOD}): {len(stale)} task(s) against {pairwise.BASELINE}")
    started = time.perf_counter()

    def judged(row: Row) -> None:
        cache.put(row)
        verdict = pairwise.stored_verdict(row, by_task[row.key.task_id][pairwise.BASELINE], judge_model)
        progress(f"  {row.key.task_id} / {row.key.strategy}: {verdict.outcome} "
                 f"(P(baseline better) {' / '.join(f'{p:.2f}' for p in verdict.p_baseline)})"
                 f"  | {_seconds(time.perf_counter() - started)} elapsed")

    return pairwise.judge_rows(make_judge(), rows, stale, on_judged=judged)


def headline(agreements: Sequence[pairwise.Agreement]) -> dict[str, bool]:
    """Which judge columns the results table shows: those whose agreement check passed."""
    checks = {a.metric: a.passed for a in agreements}
    return {"show_preserved": checks.get("pairwise judge", False),
            "show_judge": checks.get("judge 1-10", not agreements)}


def agreement_section(agreements: Sequence[pairwise.Agreement]) -> list[str]:
    """The report's "Can the judges tell?" section (empty without checks)."""
    if not agreements:
        return []
    return ["## Can the judges tell?", "",
            f"Each judge must rank the baseline's answer above cloud-public's (written without the notes) on at "
            f"least {pairwise.AGREEMENT_MIN:.0%} of the tasks; one that fails is left out of the table above "
            "and of the targets. More known-ordered pairs: `python -m bench.judge_check`.", "",
            *[f"- {a.line()}" for a in agreements], ""]

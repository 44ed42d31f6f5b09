"""What the quality bench measured for one strategy setting: fact recall and preserved %, from its stored rows.

`tandem bench fuse` measures speed and wire cost on its own short prompts; whether a fusion
setting writes good answers is the quality bench's job (30 tasks, the answer key, the pairwise
judge). This module finds the rows `tandem bench quality` stored for exactly a given setting
(the row key's `setup` hashes the fuse section, so another rule, mode or confidence finds none)
and summarizes them, so both benches' figures print in one table without answering again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import pairwise
from bench.answer_key import answer_setup
from bench.results import CACHE_FILE, ResultCache, Row, task_digest
from bench.tasks import Task
from edge_agent.config import Config
from edge_agent.context import PrivateContext


@dataclass(frozen=True)
class QualityFigures:
    """A strategy setting's quality-bench figures (None where it has no stored rows)."""

    tasks: int  # tasks with a stored answer
    total: int  # tasks in the task file
    max_tokens: int | None = None
    recall: float | None = None
    preserved: float | None = None
    judged: int = 0  # tasks with a valid pairwise verdict

    def cells(self) -> tuple[str, str]:
        """The table's "fact recall" and "preserved" cells, with the counts when not every task was found or judged."""
        if not self.tasks:
            return "-", "-"
        suffix = "" if self.tasks == self.total else f" ({self.tasks}/{self.total})"
        preserved = "-" if self.preserved is None else f"{self.preserved:.0%}"
        if self.preserved is not None and self.judged < self.tasks:
            preserved += f" ({self.judged}/{self.tasks} judged)"
        return f"{self.recall:.2f}{suffix}", preserved


def _row_setup_key(row: Row) -> tuple:
    k = row.key
    return k.task_id, k.task_digest, k.strategy, k.edge_model, k.cloud_model, k.setup


def stored_rows(results_dir: Path) -> dict[tuple, dict[int, Row]]:
    """The error-free rows in `results_dir`'s cache, by everything in their key but max tokens (read once)."""
    path = Path(results_dir) / CACHE_FILE
    rows: dict[tuple, dict[int, Row]] = defaultdict(dict)
    for row in ResultCache(path).rows.values() if path.is_file() else ():
        if not row.error:
            rows[_row_setup_key(row)][row.key.max_tokens] = row
    return rows


def lookup(rows: dict[tuple, dict[int, Row]], tasks: Sequence[Task], strategy: str, config: Config,
           edge_model: str, cloud_model: str, baseline: str = pairwise.BASELINE) -> QualityFigures:
    """The `stored_rows` of `strategy` under `config` (models by file name) for `tasks`, summarized.

    A setting may have been run at several max-token lengths: the length with the most tasks wins.
    """
    def found(task: Task, name: str) -> dict[int, Row]:
        setup = answer_setup(name, config, task.instruction, PrivateContext(task.private_context))
        return rows.get((task.id, task_digest(task), name, edge_model, cloud_model, setup), {})

    mine = {task.id: found(task, strategy) for task in tasks}
    lengths = [length for by_length in mine.values() for length in by_length]
    if not lengths:
        return QualityFigures(0, len(tasks))
    max_tokens = max(set(lengths), key=lambda n: (lengths.count(n), n))
    chosen = [by_length[max_tokens] for by_length in mine.values() if max_tokens in by_length]
    bases = [found(task, baseline).get(max_tokens) for task in tasks if max_tokens in mine[task.id]]
    [verdicts] = pairwise.preserved_by_strategy([*chosen, *(b for b in bases if b is not None)], [strategy],
                                                cloud_model, baseline)
    return QualityFigures(len(chosen), len(tasks), max_tokens, sum(r.fact_recall for r in chosen) / len(chosen),
                          verdicts.preserved, verdicts.judged)

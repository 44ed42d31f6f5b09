"""`tandem bench scorer`: how well the shipped scorer separates right from wrong answers to the
benchmark's tasks (held out from its training), and how long it takes per pair.

Candidates per task: the edge model's greedy answer and samples with the notes, its greedy
answer without the notes, and one answer written for another task. "Right" = an own answer
with every required fact; "wrong" = another task's answer or an own answer with under half.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.tasks import DEFAULT_TASKS, Task, fact_recall, load_tasks
from edge_agent.context import PrivateContext
from edge_agent.local_model import EdgeModel
from edge_agent.scoring.metrics import Judged, separation
from edge_agent.scoring.scorer import ARTIFACT, Scorer, format_query
from edge_agent.strategies.prompts import edge_messages
from runtime.models import resolve_model
from runtime.models.catalog import DEFAULT_EDGE


@dataclass
class TaskCandidates:
    task: Task
    answers: list[tuple[str, str]] = field(default_factory=list)  # (source, text)


def edge_candidates(model: EdgeModel, tasks: list[Task], samples: int, max_tokens: int) -> list[TaskCandidates]:
    out = []
    for task in tasks:
        runs = [("greedy", True, 0.0, 0)] + [(f"sample{k}", True, 0.8, k) for k in range(1, samples + 1)]
        runs.append(("no-notes", False, 0.0, 0))
        item = TaskCandidates(task)
        for source, with_notes, temperature, seed in runs:
            context = PrivateContext(task.private_context if with_notes else "")
            text = "".join(model.stream_chat(edge_messages(task.instruction, context), max_tokens=max_tokens,
                                             temperature=temperature, seed=seed))
            item.answers.append((source, text.strip()))
        out.append(item)
        print(f"  {len(out)}/{len(tasks)} tasks", file=sys.stderr, flush=True)
    return out


def run(tasks_file: Path = DEFAULT_TASKS, limit: int | None = None, samples: int = 2, max_tokens: int = 160,
        artifacts: list[Path] | None = None) -> str:
    """Generate the candidates once, then report each scorer artifact (default: the shipped one)."""
    scorers = [(path or ARTIFACT, Scorer.load(path)) for path in (artifacts or [None])]
    tasks = load_tasks(tasks_file, limit)
    model = EdgeModel(resolve_model(DEFAULT_EDGE), n_ctx=4096)
    started = time.perf_counter()
    items = edge_candidates(model, tasks, samples, max_tokens)
    generate_s = time.perf_counter() - started
    model.close()
    greedy = statistics.mean(fact_recall(item.answers[0][1], item.task.required_facts) for item in items)
    lines = [
        f"# tandem bench scorer: {len(tasks)} held-out tasks from {tasks_file.name} (never trained on)",
        f"candidates per task: edge {DEFAULT_EDGE} greedy + {samples} samples (T=0.8) with notes, greedy without "
        f"notes, and another task's greedy answer; generated in {generate_s:.0f} s",
        "right = own answer with every required fact; wrong = another task's answer or an own answer with under half",
        f"fact recall of the greedy answer: {greedy:.3f}",
    ]
    for path, scorer in scorers:
        lines += ["", f"## {path.name}: {scorer.info.raw.get('precision', '?')}, {path.stat().st_size / 1e6:.1f} MB, "
                      f"sha256 {scorer.info.sha256[:12]}", *_report(scorer, items, samples)]
    return "\n".join(lines)


def _report(scorer: Scorer, items: list[TaskCandidates], samples: int) -> list[str]:
    judged: list[Judged] = []
    pairs: list[tuple[str, str]] = []
    picks, oracle = [], []
    for i, item in enumerate(items):
        query = format_query(item.task.instruction, item.task.private_context)
        other = items[(i + 1) % len(items)].answers[0][1]
        texts = [text for _, text in item.answers]
        scores = scorer.score([(query, t) for t in texts + [other]])
        recalls = [fact_recall(t, item.task.required_facts) for t in texts]
        judged += [Judged(s, r, True) for s, r in zip(scores, recalls)]
        judged.append(Judged(scores[-1], fact_recall(other, item.task.required_facts), False))
        with_notes = [k for k, (source, _) in enumerate(item.answers) if source != "no-notes"]
        picks.append(recalls[max(with_notes, key=lambda k: scores[k])])
        oracle.append(max(recalls[k] for k in with_notes))
        pairs += [(query, t) for t in texts]
    sep = separation(judged)
    single = _latency(scorer, pairs[:16], batch=1)
    batched = _latency(scorer, pairs, batch=16)
    return [
        f"right: {sep.n_right}   wrong: {sep.n_wrong} (own answers: {sep.n_own_wrong})",
        f"AUC right vs wrong:            {sep.auc:.3f}",
        f"AUC right vs own wrong:        {sep.auc_own:.3f}",
        f"fact recall of the top-scored of {samples + 1} answers with notes: {statistics.mean(picks):.3f} "
        f"(best possible pick {statistics.mean(oracle):.3f})",
        f"latency per pair: {single * 1000:.1f} ms one at a time, {batched * 1000:.1f} ms in batches of 16",
    ]


def _latency(scorer: Scorer, pairs: list[tuple[str, str]], batch: int) -> float:
    """Mean seconds per pair (after one warm-up call)."""
    if not pairs:
        return float("nan")
    scorer.score(pairs[:batch])
    started = time.perf_counter()
    for start in range(0, len(pairs), batch):
        scorer.score(pairs[start:start + batch])
    return (time.perf_counter() - started) / len(pairs)

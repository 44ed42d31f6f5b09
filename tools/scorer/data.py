"""Training data for the scorer: synthetic tasks, candidate answers from the project's models,
and Cappy's labels (gold 1.0, another task's answer 0.0, a sampled answer its Rouge-L to the gold).

Nothing here reads the benchmark's task file: that file is the held-out evaluation set.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.tasks import fact_recall
from edge_agent.synthetic import SynthTask
from tools.scorer.rouge import rouge_l


@dataclass(frozen=True)
class Candidate:
    """An answer to a task, with where it came from."""

    source: str  # "gold", "qwen-notes", "smol-notes", "smol-nonotes", ...
    text: str


@dataclass
class TaskRecord:
    """A task and the answers generated for it."""

    task: SynthTask
    candidates: list[Candidate] = field(default_factory=list)


@dataclass(frozen=True)
class Pair:
    """One training or evaluation example for the scorer."""

    task_id: str
    instruction: str
    notes: str
    response: str
    label: float  # Cappy's label in [0, 1]
    kind: str  # "gold", "sample:<source>" or "other"
    recall: float  # share of the task's facts in the response
    own: bool  # the response was written for this task


# ------------------------------------------------------------------ candidates


Generate = Callable[[SynthTask, bool, float, int], str]  # (task, with_notes, temperature, seed) -> text


@dataclass(frozen=True)
class SamplePlan:
    """Which model writes how many answers per task (model name -> list of (with_notes, temperature))."""

    runs: tuple[tuple[str, bool, float], ...] = (
        ("qwen", True, 0.8),
        ("qwen", True, 1.0),
        ("smol", True, 0.9),
        ("smol", False, 0.8),
    )
    max_tokens: int = 96


def generate_candidates(
    tasks: Sequence[SynthTask],
    writers: dict[str, Generate],
    plan: SamplePlan,
    seed: int = 0,
    log: Callable[[str], None] = lambda _: None,
    resume: Path | None = None,
) -> list[TaskRecord]:
    """Sample answers for every task with every run of `plan`.

    With `resume`, each finished task is appended to that JSONL file, and tasks already
    in it are not generated again (an interrupted build picks up where it stopped).
    """
    done = {r.task.id: r for r in load_records(resume)} if resume and resume.is_file() else {}
    records: list[TaskRecord] = []
    started = time.perf_counter()
    for i, task in enumerate(tasks):
        if task.id in done and done[task.id].task == task:
            records.append(done[task.id])
            continue
        record = TaskRecord(task)
        for k, (writer, with_notes, temperature) in enumerate(plan.runs):
            text = writers[writer](task, with_notes, temperature, seed * 7919 + i * 31 + k)
            record.candidates.append(Candidate(f"{writer}-{'notes' if with_notes else 'nonotes'}", text.strip()))
        records.append(record)
        if resume:
            save_records([record], resume, append=True)
        if (i + 1) % 10 == 0:
            log(f"  {i + 1}/{len(tasks)} tasks, {time.perf_counter() - started:.0f} s")
    return records


def save_records(records: Sequence[TaskRecord], path: Path, append: bool = False) -> None:
    """Write `records` as JSONL, one task with its candidates per line; `append` adds to the file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps({"task": asdict(r.task), "candidates": [asdict(c) for c in r.candidates]},
                               ensure_ascii=False) + "\n")


def load_records(path: Path) -> list[TaskRecord]:
    """Read records written by `save_records`; a damaged line (e.g. cut short by a crash) raises."""
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        t = obj["task"]
        task = SynthTask(**{**t, "facts": tuple(t["facts"]), "golds": tuple(t["golds"])})
        records.append(TaskRecord(task, [Candidate(**c) for c in obj["candidates"]]))
    return records


# ------------------------------------------------------------------ labels


def label_pairs(records: Sequence[TaskRecord], others: int = 2, seed: int = 0) -> list[Pair]:
    """Cappy's labels: each gold 1.0, each sample its Rouge-L to the first gold, and `others`
    answers written for other tasks 0.0 (one from a task of the same scenario when there is one:
    same request, different notes, so only the facts tell them apart)."""
    rng = random.Random(seed)
    by_scenario: dict[str, list[TaskRecord]] = {}
    for r in records:
        by_scenario.setdefault(r.task.scenario, []).append(r)
    pairs: list[Pair] = []
    for record in records:
        task = record.task

        def pair(response: str, label: float, kind: str, own: bool, task=task) -> Pair:
            return Pair(task.id, task.instruction, task.notes, response, label, kind,
                        fact_recall(response, task.facts), own)

        for gold in task.golds:
            pairs.append(pair(gold, 1.0, "gold", True))
        for c in record.candidates:
            if c.text:
                pairs.append(pair(c.text, rouge_l(c.text, task.golds[0]), f"sample:{c.source}", True))
        siblings = [r for r in by_scenario[task.scenario] if r is not record]
        strangers = [r for r in records if r.task.scenario != task.scenario]
        for n in range(others):
            pool = siblings if (n == 0 and siblings) else strangers
            if not pool:
                continue
            other = rng.choice(pool)
            texts = [*other.task.golds, *(c.text for c in other.candidates if c.text)]
            pairs.append(pair(rng.choice(texts), 0.0, "other", False))
    return pairs


def split(records: Sequence[TaskRecord], val_share: float = 0.2) -> tuple[list[TaskRecord], list[TaskRecord]]:
    """Train and validation records (the last `val_share` of the tasks validate)."""
    cut = len(records) - max(1, round(len(records) * val_share))
    return list(records[:cut]), list(records[cut:])


def model_writer(model, max_tokens: int) -> Generate:
    """A Generate over an EdgeModel, with the product's own edge prompt (notes in the system turn)."""
    from edge_agent.context import PrivateContext
    from edge_agent.strategies.prompts import edge_messages

    def write(task: SynthTask, with_notes: bool, temperature: float, seed: int) -> str:
        context = PrivateContext(task.notes if with_notes else "")
        messages = edge_messages(task.instruction, context)
        return "".join(model.stream_chat(messages, max_tokens=max_tokens, temperature=temperature, seed=seed))

    return write

"""`tandem bench verifier`: the verifier's agreement with the required-facts check.

Per benchmark task, two cases:
  right notes: the edge model answers with the task's own notes; expected C if the answer
               has every required fact, else B (the notes held them; the answer missed them)
  wrong notes: the edge model answers with another task's notes (a retrieval error); expected A
The verdict comes from the same edge model (KALMV: the small model checks itself).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

from bench.tasks import DEFAULT_TASKS, fact_recall, load_tasks
from edge_agent.context import PrivateContext
from edge_agent.local_model import EdgeModel
from edge_agent.scoring.metrics import auc
from edge_agent.strategies.prompts import edge_messages
from edge_agent.verify.verifier import METHODS, OPTIONS, Verdict, verify
from runtime.models import resolve_model
from runtime.models.catalog import DEFAULT_EDGE


def expected_label(recall: float, right_notes: bool) -> str:
    """What the required-facts check says the verdict should be."""
    if not right_notes:
        return "A"
    return "C" if recall >= 1.0 else "B"


def confusion_table(rows: list[tuple[str, str]]) -> str:
    """Rows: expected label; columns: the verifier's verdict."""
    counts = Counter(rows)
    lines = ["expected \\ verdict" + "".join(f"{o:>6}" for o in OPTIONS) + f"{'total':>7}"]
    for e in OPTIONS:
        total = sum(counts[(e, v)] for v in OPTIONS)
        lines.append(f"{e:<18}" + "".join(f"{counts[(e, v)]:>6}" for v in OPTIONS) + f"{total:>7}")
    return "\n".join(lines)


def run(tasks_file: Path = DEFAULT_TASKS, limit: int | None = None, max_tokens: int = 160,
        methods: tuple[str, ...] = METHODS, model_name: str = DEFAULT_EDGE) -> str:
    tasks = load_tasks(tasks_file, limit)
    model = EdgeModel(resolve_model(model_name), n_ctx=4096)
    expected: list[str] = []
    complete: list[bool | None] = []  # right-notes answers: all facts there? (None for wrong notes)
    verdicts: dict[str, list[Verdict]] = {m: [] for m in methods}
    seconds = {m: 0.0 for m in methods}
    for i, task in enumerate(tasks):
        wrong = tasks[(i + len(tasks) // 2) % len(tasks)]
        for notes, right_notes in ((task.private_context, True), (wrong.private_context, False)):
            messages = edge_messages(task.instruction, PrivateContext(notes))
            answer = "".join(model.stream_chat(messages, max_tokens=max_tokens)).strip()
            recall = fact_recall(answer, task.required_facts)
            expected.append(expected_label(recall, right_notes))
            complete.append(recall >= 1.0 if right_notes else None)
            for method in methods:
                started = time.perf_counter()
                verdicts[method].append(verify(model, task.instruction, notes, answer, method=method))
                seconds[method] += time.perf_counter() - started
        print(f"  {i + 1}/{len(tasks)} tasks", file=sys.stderr, flush=True)
    model.close()

    lines = [
        f"# tandem bench verifier: {len(tasks)} tasks from {tasks_file.name} x (right notes, wrong notes); "
        f"{model_name} answers (greedy, {max_tokens} tokens) and verifies its own answers",
        "expected: A for answers written with another task's notes; with the task's own notes C if the "
        "answer has every required fact, else B",
    ]
    for method in methods:
        got = [v.label for v in verdicts[method]]
        agree = sum(e == g for e, g in zip(expected, got))
        own = [(v, ok) for v, ok in zip(verdicts[method], complete) if ok is not None]
        binary = sum((v.label == "C") == ok for v, ok in own)
        p_right = [v.probs["A"] for v, ok in zip(verdicts[method], complete) if ok is not None]
        p_wrong = [v.probs["A"] for v, ok in zip(verdicts[method], complete) if ok is None]
        lines += [
            "",
            f"## method {method!r}",
            confusion_table(list(zip(expected, got))),
            f"three-way agreement with the facts check:    {agree}/{len(got)} = {agree / len(got):.3f}",
            f"own notes: verdict C <=> all facts:          {binary}/{len(own)} = {binary / max(1, len(own)):.3f}",
            f"AUC of P(C), all facts vs missing facts:     "
            f"{auc([v.probs['C'] for v, ok in own if ok], [v.probs['C'] for v, ok in own if not ok]):.3f}",
            f"AUC of P(A), wrong notes vs own notes:       {auc(p_wrong, p_right):.3f}",
            f"mean verification time: {seconds[method] / len(got):.2f} s per answer",
        ]
    return "\n".join(lines)

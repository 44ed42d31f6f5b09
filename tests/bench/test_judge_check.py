"""`python -m bench.judge_check`: known-ordered pairs built from cached answers, judged on a real model and cached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import judge_check
from bench.judge_check import pairs, placeholder_answer
from bench.results import CACHE_FILE, ResultCache, Row, RowKey
from bench.tasks import DEFAULT_TASKS, load_tasks


def _row(task: str, strategy: str, answer: str) -> Row:
    return Row(key=RowKey(task, "d", strategy, "edge.gguf", "cloud.gguf", 64, "setup"), answer=answer)


def test_placeholder_answers_replace_every_required_fact_they_contain() -> None:
    out = placeholder_answer("Dear Mr. Holm, see you on March 14 with Ann.", ["Mr. Holm", "March 14", "Bob"])
    assert out == "Dear [NAME], see you on [DATE] with Ann."
    assert placeholder_answer("Dear landlord", ["Mr. Holm"]) is None  # nothing to take out: no pair


def test_pairs_are_built_only_where_both_answers_exist() -> None:
    tasks = load_tasks(DEFAULT_TASKS, 3)
    answers = {(tasks[0].id, "cloud-with-context"): "base 0", (tasks[0].id, "cloud-public"): "public 0",
               (tasks[1].id, "cloud-with-context"): "base 1"}
    built = {(kind, task.id): other for kind, task, _, other in pairs(tasks, answers, ["public", "offtopic", "self"])}
    assert built == {("public", tasks[0].id): "public 0", ("offtopic", tasks[0].id): "base 1",
                     ("self", tasks[0].id): "base 0", ("self", tasks[1].id): "base 1"}


def test_the_entry_point_judges_pairs_and_strategies_on_a_real_model_and_resumes(
        smol_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SmolLM2-135M as the judge (the mechanics are under test, not its taste)."""
    task = load_tasks(DEFAULT_TASKS, 1)[0]
    cache = ResultCache(tmp_path / CACHE_FILE)
    base = f"Dear {task.required_facts[0]}, " + ", ".join(task.required_facts[1:]) + "."
    for strategy, answer in [("cloud-with-context", base), ("cloud-public", "Dear [Landlord], please fix it."),
                             ("edge", "Hello, please fix the heating.")]:
        cache.put(_row(task.id, strategy, answer))
    args = ["--prompt", "points-details-send", "--limit", "1", "--results", str(tmp_path),
            "--judge-model", str(smol_path), "--kinds", "public,placeholder", "--strategies"]
    assert judge_check.main(args) == 0
    out = capsys.readouterr().out
    assert "| points-details-send | public | 1 |" in out
    assert "| edge | 1 |" in out and "| cloud-public | 1 |" in out
    assert "pairwise judge: prefers cloud-with-context over cloud-public on " in out
    checked = [json.loads(line) for line in (tmp_path / "judge_check.jsonl").read_text().splitlines()]
    assert {c["kind"] for c in checked} == {"public", "placeholder"}
    judged = ResultCache(tmp_path / "pairwise_rows.jsonl")
    assert all(r.pairwise and r.pairwise["method"].startswith("pairwise-v1-points-details-send-")
               for r in judged.rows.values())
    assert ResultCache(tmp_path / CACHE_FILE).rows[_row(task.id, "edge", "").key].pairwise is None  # bench rows untouched

    assert judge_check.main(args) == 0  # everything from the two caches now
    again = capsys.readouterr()
    assert "judged here" not in again.out and "prompt tokens computed" not in again.err
    assert len((tmp_path / "judge_check.jsonl").read_text().splitlines()) == len(checked)

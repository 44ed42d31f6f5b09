"""Synthetic tasks, candidate generation and Cappy's labels."""

from __future__ import annotations

import pytest

from bench.tasks import fact_recall, load_tasks
from edge_agent.local_model import EdgeModel
from edge_agent.synthetic import make_tasks
from edge_agent.synthetic.scenarios import SCENARIOS
from tools.scorer import data
from tools.scorer.rouge import rouge_l


@pytest.fixture(scope="module")
def tasks() -> list[data.SynthTask]:
    return make_tasks(2 * len(SCENARIOS), seed=3)


def test_tasks_are_reproducible_and_seed_dependent(tasks):
    assert make_tasks(len(tasks), seed=3) == tasks
    assert make_tasks(len(tasks), seed=4) != tasks
    assert len({t.id for t in tasks}) == len(tasks)
    assert {t.scenario for t in tasks} == {s.key for s in SCENARIOS}


def test_every_fact_is_in_the_notes_and_in_every_gold(tasks):
    for t in tasks:
        lines = t.notes.split("\n")
        assert lines[0].startswith("Name: ")
        assert 5 <= len(lines) <= 9, t.notes
        assert 2 <= len(t.facts) <= 4
        for fact in t.facts:
            assert fact in t.notes, (t.id, fact)
        assert t.golds and all(fact_recall(g, t.facts) == 1.0 for g in t.golds)
        assert "{" not in t.notes + t.instruction + "".join(t.golds)


def test_no_benchmark_task_is_used_for_training():
    """The benchmark's tasks are the held-out split: none of their instructions or notes may appear."""
    bench = load_tasks()
    instructions = {i for s in SCENARIOS for i in s.instructions}
    assert not instructions & {t.instruction for t in bench}
    notes = {line for t in make_tasks(200, seed=0) for line in t.notes.split("\n")[1:]}
    bench_lines = {line for t in bench for line in t.private_context.split("\n")}
    assert not notes & bench_lines


def _record(task: data.SynthTask, *texts: str) -> data.TaskRecord:
    return data.TaskRecord(task, [data.Candidate("qwen-notes", t) for t in texts])


def test_labels_follow_cappy(tasks):
    first, sibling = tasks[0], tasks[len(SCENARIOS)]  # same scenario, different notes
    assert first.scenario == sibling.scenario
    sample = f"Hello, about {first.facts[0]}: see you soon."
    records = [_record(first, sample, ""), _record(sibling, "Another answer.")] + [_record(t, "x") for t in tasks[1:4]]
    pairs = [p for p in data.label_pairs(records, others=2, seed=1) if p.task_id == first.id]
    golds = [p for p in pairs if p.kind == "gold"]
    assert [p.response for p in golds] == list(first.golds) and all(p.label == 1.0 for p in golds)
    samples = [p for p in pairs if p.kind.startswith("sample:")]
    assert len(samples) == 1  # the empty answer is dropped
    assert samples[0].label == pytest.approx(rouge_l(sample, first.golds[0]))
    assert 0.0 < samples[0].label < 1.0 and samples[0].recall == pytest.approx(1 / len(first.facts))
    others = [p for p in pairs if p.kind == "other"]
    assert len(others) == 2 and all(p.label == 0.0 and not p.own for p in others)
    # the first "other" answer comes from the task with the same request and different notes
    assert others[0].response in (*sibling.golds, "Another answer.")


def test_split_keeps_tasks_whole(tasks):
    records = [data.TaskRecord(t) for t in tasks]
    train, val = data.split(records, 0.25)
    assert len(val) == round(len(tasks) * 0.25) and train + val == records


@pytest.fixture(scope="module")
def smol(smol_path) -> EdgeModel:
    model = EdgeModel(smol_path, n_ctx=1024)
    yield model
    model.close()


def test_generation_with_a_real_model_resumes_from_its_file(smol, tasks, tmp_path):
    plan = data.SamplePlan(runs=(("smol", True, 0.9), ("smol", False, 0.0)), max_tokens=8)
    cache = tmp_path / "candidates.jsonl"
    writers = {"smol": data.model_writer(smol, plan.max_tokens)}
    first = data.generate_candidates(tasks[:2], writers, plan, seed=1, resume=cache)
    assert [len(r.candidates) for r in first] == [2, 2]
    assert [c.source for c in first[0].candidates] == ["smol-notes", "smol-nonotes"]
    assert all(c.text for r in first for c in r.candidates)

    def refuse(*_args) -> str:
        raise AssertionError("a cached task was generated again")

    again = data.generate_candidates(tasks[:2], {"smol": refuse}, plan, seed=1, resume=cache)
    assert again == first
    calls = []
    more = data.generate_candidates(tasks[:3], {"smol": lambda *a: calls.append(a) or "new"}, plan, seed=1, resume=cache)
    assert len(calls) == 2 and more[:2] == first and more[2].candidates[0].text == "new"
    assert data.load_records(cache) == more

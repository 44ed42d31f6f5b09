"""`tandem bench fuse`'s quality columns: the quality bench's stored rows for exactly the setting in the row."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.answer_key import answer_setup
from bench.fuse_quality import QualityFigures, lookup, stored_rows
from bench.pairwise import METHOD, PairVerdict, Preference, StoredVerdict, text_digest
from bench.results import CACHE_FILE, ResultCache, Row, RowKey, task_digest
from bench.tasks import Task
from edge_agent.config import Config
from edge_agent.context import PrivateContext

EDGE, CLOUD = "edge.gguf", "cloud.gguf"
TASKS = [
    Task("t1", "Write to my landlord about the heating.", "Landlord: Mr. Okafor\nHeating broke on Monday",
         ("Okafor",), (), "email"),
    Task("t2", "Remind me of the dentist.", "Dentist on March 14 at 3:30 pm", ("March 14",), (), "reminder"),
]


def _setting(rule: str, mode: str = "selective") -> Config:
    config = Config()
    config.fuse.rule, config.fuse.mode = rule, mode
    return config


def _row(task: Task, strategy: str, config: Config, recall: float, max_tokens: int = 160,
         answer: str = "answer", versus: str | None = None, baseline_wins: bool = False) -> Row:
    setup = answer_setup(strategy, config, task.instruction, PrivateContext(task.private_context))
    row = Row(RowKey(task.id, task_digest(task), strategy, EDGE, CLOUD, max_tokens, setup), answer=answer,
              fact_recall=recall)
    if versus is not None:
        p = 0.9 if baseline_wins else 0.1  # P(first is better) with the baseline first, then with it second
        verdict = PairVerdict.from_orders(Preference(p, 0.9), Preference(1 - p, 0.9))
        row.pairwise = StoredVerdict(METHOD, CLOUD, text_digest(versus), verdict).to_dict()
    return row


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuse-quality")
    cache = ResultCache(root / CACHE_FILE)
    delta = _setting("delta")
    for task in TASKS:
        cache.put(_row(task, "cloud-with-context", delta, 1.0, answer=f"base {task.id}"))
    cache.put(_row(TASKS[0], "fuse", delta, 1.0, versus="base t1"))
    cache.put(_row(TASKS[1], "fuse", delta, 0.5, versus="base t2", baseline_wins=True))
    cache.put(_row(TASKS[0], "fuse", delta, 0.0, max_tokens=64))  # another length, fewer tasks: not chosen
    cache.put(_row(TASKS[0], "fuse", _setting("fixed"), 0.25))  # one task only
    cache.put(_row(TASKS[0], "fuse", _setting("entropy"), 0.5, versus="base t1"))
    cache.put(_row(TASKS[1], "fuse", _setting("entropy"), 0.5))  # answered, not judged yet
    return root


def test_the_rows_of_the_asked_setting_give_recall_and_preserved(results: Path) -> None:
    figures = lookup(stored_rows(results), TASKS, "fuse", _setting("delta"), EDGE, CLOUD)
    assert figures == QualityFigures(2, 2, 160, 0.75, 0.5, 2)
    assert figures.cells() == ("0.75", "50%")


def test_another_setting_finds_only_its_own_rows(results: Path) -> None:
    fixed = lookup(stored_rows(results), TASKS, "fuse", _setting("fixed"), EDGE, CLOUD)
    assert (fixed.tasks, fixed.recall, fixed.preserved) == (1, 0.25, None)
    assert fixed.cells() == ("0.25 (1/2)", "-")
    partly_judged = lookup(stored_rows(results), TASKS, "fuse", _setting("entropy"), EDGE, CLOUD)
    assert partly_judged.cells() == ("0.50", "100% (1/2 judged)")
    exact = lookup(stored_rows(results), TASKS, "fuse", _setting("delta", "exact"), EDGE, CLOUD)
    assert exact.cells() == ("-", "-")


def test_other_models_or_no_results_find_nothing(results: Path, tmp_path: Path) -> None:
    assert lookup(stored_rows(results), TASKS, "fuse", _setting("delta"), "other.gguf", CLOUD).tasks == 0
    assert lookup(stored_rows(tmp_path), TASKS, "fuse", _setting("delta"), EDGE, CLOUD) == QualityFigures(0, 2)

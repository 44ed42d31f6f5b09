"""`tandem bench quality` end to end: real models, a real cloud process with capture, real files.

SmolLM2-135M plays edge, cloud and judge (the mechanics are under test, not the prose).
One fixture makes three runs over 2 tasks x 3 strategies:
  A. without the judge: everything is answered, measured, cached and reported;
  B. with the judge, and the cloud process forbidden: cached answers are judged (1-10 and
     pairwise against the baseline), none remade;
  C. again, with the cloud and both judges forbidden: everything comes from the cache.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench import judge as judge_mod
from bench import pairwise, quality
from bench.results import CACHE_FILE, Row
from bench.tasks import load_tasks
from runtime.cli import main

STRATEGIES = ("edge", "sketch", "cloud-with-context")
TASKS = 2


@dataclass
class Run:
    code: int
    out: str
    err: str


class _Forbidden:
    def __init__(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("this run should have been served from the cache")


def _run(args: list[str]) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def runs(smol_path: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("bench-quality")
    config = root / "config.toml"
    # One thread per model: on 2 shared cores llama.cpp slows down badly when oversubscribed.
    config.write_text("[edge]\nn_ctx = 2048\nn_threads = 1\n[cloud]\nsketch_max_tokens = 16\n"
                      "[server]\nn_ctx = 2048\nn_threads = 1\n")
    results = root / "results"
    args = ["--config", str(config), "bench", "quality", "--limit", str(TASKS), "--strategies", ",".join(STRATEGIES),
            "--edge-model", str(smol_path), "--cloud-model", str(smol_path), "--max-tokens", "8",
            "--results", str(results)]
    with pytest.MonkeyPatch.context() as mp:
        for var in [v for v in os.environ if v.startswith("TANDEM_") and v != "TANDEM_MODELS_DIR"]:
            mp.delenv(var)
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
            mp.setenv(var, str(root / var.lower()))
        first = _run(args + ["--no-judge"])
        lines_after_first = len((results / CACHE_FILE).read_text().splitlines())
        mp.setattr(quality, "CloudProcess", _Forbidden)
        second = _run(args)
        mp.setattr(judge_mod, "Judge", _Forbidden)
        mp.setattr(pairwise, "PairwiseJudge", _Forbidden)
        third = _run(args)
    yield {"first": first, "second": second, "third": third, "results": results,
           "lines_after_first": lines_after_first}


def _rows(results: Path) -> dict[tuple[str, str], Row]:
    rows = [Row.from_json(line) for line in (results / CACHE_FILE).read_text().splitlines()]
    return {(r.key.task_id, r.key.strategy): r for r in rows}  # the last line per key wins


def test_the_first_run_answers_everything_and_writes_table_report_and_chart(runs) -> None:
    first, results = runs["first"], runs["results"]
    assert first.code == 0, first.err
    assert f"{TASKS} tasks x {len(STRATEGIES)} strategies: {TASKS * len(STRATEGIES)} to answer, 0 from the cache" \
        in first.err
    assert f"[{TASKS * len(STRATEGIES)}/{TASKS * len(STRATEGIES)}]" in first.err  # the progress line
    table = [line for line in first.out.splitlines() if line.split()[:1] and line.split()[0] in STRATEGIES]
    assert [line.split()[0] for line in table] == list(STRATEGIES)
    for strategy in STRATEGIES:
        assert _table_cell(first.out, strategy, "tasks") == str(TASKS)
        assert _table_cell(first.out, strategy, "judge 1-10") == "n/a"  # no judge in this run
    assert "cloud-with-context (opt-in*)" in first.out

    report = (results / "report.md").read_text()
    assert "Command: `tandem bench quality --limit 2" in report
    for strategy in STRATEGIES:
        assert any(line.startswith(f"| {strategy}") for line in report.splitlines())
    assert "![quality vs. leaks vs. latency](quality.png)" in report
    assert (results / "quality.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert runs["lines_after_first"] == TASKS * len(STRATEGIES)


def test_leaks_are_counted_for_the_opt_in_baseline_only(runs) -> None:
    rows = _rows(runs["results"])
    for task in load_tasks(limit=TASKS):
        baseline = rows[(task.id, "cloud-with-context")]
        assert baseline.context_sent and baseline.received == 1 and baseline.capture_matches_audit
        assert set(baseline.leaked) == set(task.canaries)  # the notes went up, and the check saw them
        sketch = rows[(task.id, "sketch")]
        assert sketch.received == 1 and sketch.rpcs == 1 and sketch.capture_matches_audit
        assert sketch.leaked == [] and sketch.bytes_up > 0 and not sketch.context_sent
        edge = rows[(task.id, "edge")]
        assert (edge.received, edge.rpcs, edge.bytes_up, edge.leaked) == (0, 0, 0, [])
        for row in (baseline, sketch, edge):
            assert 0.0 <= row.fact_recall <= 1.0 and row.answer and row.tokens >= 1 and not row.error
    assert "0" == _table_cell(runs["first"].out, "sketch", "leaks")
    assert _table_cell(runs["first"].out, "cloud-with-context", "leaks").endswith("tasks")


def test_the_second_run_judges_cached_answers_without_answering_again(runs) -> None:
    second, results = runs["second"], runs["results"]
    assert second.code == 0, second.err  # the cloud process was forbidden: nothing was answered again
    assert f"0 to answer, {TASKS * len(STRATEGIES)} from the cache" in second.err
    assert "(cached answer)" in second.err
    rows = _rows(results)
    assert len(rows) == TASKS * len(STRATEGIES)
    for row in rows.values():
        assert 1.0 <= row.judge <= 10.0 and row.judge_method == judge_mod.METHOD
        assert sum(row.judge_probs) == pytest.approx(1.0) and 0.0 < row.judge_mass <= 1.0
    checks = dict(re.findall(r"^judge check: (pairwise judge|judge 1-10): .*: (passes|FAILS)", second.out, re.MULTILINE))
    assert set(checks) == {"pairwise judge", "judge 1-10"}
    header = next(line for line in second.out.splitlines() if line.startswith("strategy"))
    assert ("judge 1-10" in header) == (checks["judge 1-10"] == "passes")  # a judge that fails is no headline
    assert ("preserved" in header) == (checks["pairwise judge"] == "passes")
    assert "## Can the judges tell?" in (results / "report.md").read_text()


def test_the_second_run_compares_every_answer_with_the_baseline(runs) -> None:
    rows = _rows(runs["results"])
    for task in load_tasks(limit=TASKS):
        base = rows[(task.id, "cloud-with-context")]
        for strategy in STRATEGIES:
            verdict = pairwise.stored_verdict(rows[(task.id, strategy)], base, _judge_model(runs))
            assert verdict is not None and all(0.0 <= p <= 1.0 for p in verdict.p_baseline)
        assert pairwise.stored_verdict(base, base, _judge_model(runs)).outcome == "tie"  # itself


def _judge_model(runs) -> str:
    return next(iter(_rows(runs["results"]).values())).key.cloud_model


def test_the_third_run_is_served_entirely_from_the_cache(runs) -> None:
    second, third, results = runs["second"], runs["third"], runs["results"]
    assert third.code == 0, third.err  # the cloud and the judge were forbidden
    lines = (results / CACHE_FILE).read_text().splitlines()
    third_table = [line for line in third.out.splitlines() if not line.startswith("#")]
    second_table = [line for line in second.out.splitlines() if not line.startswith("#")]
    assert third_table == second_table  # same figures, nothing recomputed
    # run A's rows, run B's rated rows and its pairwise-judged rows, none from run C
    assert len(lines) == 3 * TASKS * len(STRATEGIES)
    assert not re.search(r"^\[\d+/\d+\]", third.err, re.MULTILINE)  # no progress line: no work


def _table_cell(out: str, strategy: str, column: str) -> str:
    """A cell of the printed table, found by the header's column position."""
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("strategy"))
    start = header.index(column)
    end = start + len(column)
    row = next(line for line in lines if line.split()[:1] == [strategy])
    # Right-aligned columns: the cell ends where its header ends.
    cell = row[:end].rstrip()
    return cell[max(cell.rfind("  "), 0):].strip()

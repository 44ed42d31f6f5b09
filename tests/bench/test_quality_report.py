"""The quality benchmark's pure parts: aggregation, tables, the cache, the judge's arithmetic, the CLI's errors."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from bench.chart import ChartUnavailable, write_chart
from bench.judge import rating_distribution
from bench.pairwise import Preserved
from bench.quality import BenchError, QualitySettings, select_strategies
from bench.report import add_preserved, format_table, markdown_table, per_task_table, summarize, target_lines
from bench.results import ResultCache, Row, RowKey
from edge_agent.strategies import STRATEGIES
from runtime.cli import main


def _row(task: str, strategy: str, **values) -> Row:
    return Row(key=RowKey(task, "d", strategy, "edge.gguf", "cloud.gguf", 64), **values)


ROWS = [
    _row("t1", "edge", fact_recall=1.0, judge=8.0, first_text_s=1.0, total_s=5.0, tok_s=30.0),
    _row("t2", "edge", fact_recall=0.5, judge=6.0, first_text_s=3.0, total_s=9.0, tok_s=20.0),
    _row("t3", "edge", fact_recall=0.0, judge=None, first_text_s=2.0, total_s=7.0, tok_s=25.0),
    _row("t1", "sketch", fact_recall=0.5, judge=7.0, total_s=4.0, bytes_up=100, bytes_down=300, rpcs=1,
         fallback="cloud down"),
    _row("t2", "sketch", error="CloudError: boom"),
    _row("t1", "cloud-with-context", fact_recall=1.0, judge=9.0, total_s=3.0, context_sent=True,
         leaked=["Ann Lee", "555-0101"], bytes_up=900, rpcs=1),
    _row("t2", "cloud-with-context", fact_recall=0.5, judge=7.0, total_s=5.0, context_sent=True,
         leaked=["Bob"], bytes_up=700, rpcs=1, capture_matches_audit=False),
]


def test_summaries_average_quality_take_median_latency_and_total_leaks() -> None:
    edge, sketch, base, best = summarize(ROWS, ["edge", "sketch", "cloud-with-context", "best-of"])
    assert (edge.tasks, edge.errors, edge.opt_in) == (3, 0, False)
    assert edge.fact_recall == pytest.approx(0.5)
    assert edge.judge == pytest.approx(7.0) and edge.judged == 2  # a missing judgement is not a zero
    assert (edge.first_text_s, edge.total_s, edge.tok_s) == (2.0, 7.0, 25.0)
    assert edge.leaked == 0 and edge.rpcs == 0
    assert (sketch.tasks, sketch.errors, sketch.fallbacks) == (1, 1, 1)
    assert sketch.error_samples == ["CloudError: boom"]
    assert (sketch.bytes_up, sketch.bytes_down) == (100, 300)
    assert base.opt_in and (base.leaked, base.tasks_leaking) == (3, 2)
    assert base.audit_mismatches == 1 and base.bytes_up == 800
    assert (best.tasks, best.fact_recall, best.judge) == (0, None, None)  # asked for but never run


def test_leaks_of_a_failed_answer_still_count() -> None:
    rows = [_row("t1", "sketch", error="PrivacyViolation: refused", leaked=["Ann Lee"])]
    (sketch,) = summarize(rows, ["sketch"])
    assert (sketch.tasks, sketch.errors, sketch.leaked) == (0, 1, 1)


def test_tables_have_one_row_per_strategy_and_mark_the_baseline() -> None:
    summaries = summarize(ROWS, ["edge", "sketch", "cloud-with-context"])
    text = format_table(summaries, with_scorer=False)
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["strategy", "tasks", "fact", "recall"]
    assert [line.split()[0] for line in lines[1:4]] == ["edge", "sketch", "cloud-with-context"]
    assert "(opt-in*)" in lines[3] and "3 in 2 tasks" in lines[3]
    assert lines[-1].startswith("* opt-in baseline")
    assert "scorer" not in text and "scorer" in format_table(summaries, with_scorer=True)
    md = markdown_table(summaries, with_scorer=True).splitlines()
    assert len(md) == 2 + 3 and md[1].startswith("|---|")
    assert md[2].startswith("| edge | 3 | 0.50 | 7.00 | n/a | 0 |")


def test_targets_compare_with_edge_and_the_baseline() -> None:
    lines = target_lines(summarize(ROWS, ["edge", "sketch", "cloud-with-context"]))
    assert "- `edge`: zero leaks: met" in lines and "- `sketch`: zero leaks: met" in lines
    assert not any(line.startswith("- `cloud-with-context`") for line in lines)
    recall = next(line for line in lines if line.startswith("- `sketch` fact recall"))
    assert ">= edge (0.50 vs 0.50)" in recall and "67% of cloud-with-context (missed)" in recall
    leaky = target_lines(summarize([_row("t1", "sketch", leaked=["x"])], ["sketch"]))
    assert leaky == ["- `sketch`: zero leaks: MISSED (1 canaries leaked)"]


def test_a_judge_that_failed_its_check_leaves_the_table_and_the_targets() -> None:
    summaries = summarize(ROWS, ["edge", "sketch", "cloud-with-context"])
    add_preserved(summaries, [Preserved("edge", judged=2, wins=1, ties=0, losses=1), Preserved("sketch", judged=1)])
    assert (summaries[0].preserved, summaries[0].pair_judged) == (0.5, 2) and summaries[2].preserved is None
    header = format_table(summaries, with_scorer=False, show_judge=False, show_preserved=True).splitlines()[0]
    assert "preserved" in header and "judge" not in header
    md = markdown_table(summaries, with_scorer=False, show_judge=False, show_preserved=True).splitlines()
    assert md[2].startswith("| edge | 3 | 0.50 | 50% | 0 |")
    lines = target_lines(summaries, ["fact_recall", "preserved"])
    assert "- `sketch` preserved: 0% of tasks at least as good as cloud-with-context (target 70%: missed)" in lines
    assert not any(" judge:" in line for line in lines)


def test_per_task_table_shows_errors_and_leaks() -> None:
    table = per_task_table(ROWS, ["edge", "sketch", "cloud-with-context"], ["t1", "t2", "t3"]).splitlines()
    assert table[2] == "| t1 | 1.00 / 8.0 | 0.50 / 7.0 | 1.00 / 9.0 leak |"
    assert table[3] == "| t2 | 0.50 / 6.0 | error | 0.50 / 7.0 leak |"
    assert table[4] == "| t3 | 0.00 / n/a |  |  |"


def test_cache_round_trips_keeps_the_last_line_and_skips_errors(tmp_path) -> None:
    path = tmp_path / "quality.jsonl"
    cache = ResultCache(path)
    first = _row("t1", "edge", answer="Hello Ann", judge=None)
    cache.put(first)
    cache.put(_row("t1", "sketch", error="CloudError: boom"))
    judged = _row("t1", "edge", answer="Hello Ann", judge=7.5, judge_probs=[0.1] * 10, judge_method="m")
    cache.put(judged)
    assert len(path.read_text().splitlines()) == 2  # the error row was not written
    again = ResultCache(path)
    assert again.get(first.key) == judged
    assert again.get(_row("t1", "sketch").key) is None


def test_cache_survives_a_torn_last_line(tmp_path) -> None:
    path = tmp_path / "quality.jsonl"
    row = _row("t1", "edge", answer="ok")
    path.write_text(row.to_json() + "\n" + row.to_json()[:40])  # interrupted mid-write
    cache = ResultCache(path)
    assert cache.get(row.key) == row
    other = _row("t2", "edge", answer="next")
    cache.put(other)
    assert ResultCache(path).get(other.key) == other


def _probs(values: dict[int, float], size: int = 50) -> np.ndarray:
    p = np.zeros(size)
    for token, value in values.items():
        p[token] = value
    return p


def test_rating_is_the_expected_value_over_the_digit_tokens() -> None:
    digits = list(range(10, 20))  # token of digit d is 10 + d
    # P("7") = 0.5, P("9") = 0.3, P("1") = 0.2 of which half continues with "0" (a 10); 0 elsewhere.
    verdict = rating_distribution(_probs({17: 0.5, 19: 0.3, 11: 0.2}), digits, None, p_zero_after_one=0.5)
    assert verdict.mass == pytest.approx(1.0)
    assert verdict.probs[0] == pytest.approx(0.1) and verdict.probs[9] == pytest.approx(0.1)
    assert verdict.score == pytest.approx(0.1 * 1 + 0.5 * 7 + 0.3 * 9 + 0.1 * 10)
    # Mass on non-rating tokens is reported and renormalized away.
    partial = rating_distribution(_probs({17: 0.2, 3: 0.8}), digits, None, 0.0)
    assert partial.mass == pytest.approx(0.2) and partial.score == pytest.approx(7.0)


def test_a_single_ten_token_is_used_directly() -> None:
    digits = list(range(10, 20))
    verdict = rating_distribution(_probs({11: 0.25, 40: 0.75}), digits, ten_id=40, p_zero_after_one=0.9)
    assert verdict.probs[0] == pytest.approx(0.25) and verdict.probs[9] == pytest.approx(0.75)
    assert verdict.score == pytest.approx(0.25 + 7.5)


def test_no_mass_on_any_rating_gives_no_score() -> None:
    verdict = rating_distribution(_probs({3: 1.0}), list(range(10, 20)), None, 0.0)
    assert math.isnan(verdict.score) and verdict.mass == 0.0


def test_strategies_default_to_every_runner_and_unknown_ones_are_refused() -> None:
    assert select_strategies([]) == list(STRATEGIES)
    assert select_strategies(["sketch", "edge", "sketch"]) == ["sketch", "edge"]
    with pytest.raises(BenchError, match="unknown strategy 'nope'.*known: edge"):
        select_strategies(["edge", "nope"])


def test_without_matplotlib_the_chart_is_skipped_with_a_clear_reason(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an install without the `bench` extra sees
    with pytest.raises(ChartUnavailable, match=r"pip install 'tandem\[bench\]'"):
        write_chart(summarize(ROWS, ["edge"]), tmp_path / "chart.png", "title")
    assert not (tmp_path / "chart.png").exists()


def test_the_report_names_the_command_that_reproduces_the_run(tmp_path) -> None:
    settings = QualitySettings(limit=3, strategies=("edge", "sketch"), max_tokens=64, judge=False)
    assert settings.command() == "tandem bench quality --limit 3 --strategies edge,sketch --no-judge --max-tokens 64"


@pytest.mark.parametrize("args, message", [
    (["--strategies", "edge,telepathy"], "unknown strategy 'telepathy'"),
    (["--tasks", "/nonexistent/tasks.jsonl"], "the task file /nonexistent/tasks.jsonl does not exist"),
])
def test_bad_options_get_one_line_errors(args, message, capsys) -> None:
    assert main(["bench", "quality", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tandem: error: ") and message in err and "\n" not in err


@pytest.mark.parametrize("args, message", [(["--max-tokens", "0"], "must be at least 1"),
                                           (["--limit", "x"], "expected an integer")])
def test_bad_numbers_are_refused_by_the_parser(args, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "quality", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_malformed_task_file_is_reported_with_its_line(tmp_path, capsys) -> None:
    bad = tmp_path / "tasks.jsonl"
    bad.write_text('{"id": "a"}\n')
    assert main(["bench", "quality", "--tasks", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"tandem: error: {bad}:1: missing key 'instruction'"

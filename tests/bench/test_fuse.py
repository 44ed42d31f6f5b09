"""`tandem bench fuse` as a user runs it: SmolLM2-135M as edge and cloud (its own process), one prompt,
a few tokens. The mechanics are under test (rows, ratios, the quality bench's figures), not the speed."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

from bench.answer_key import answer_setup
from bench.results import CACHE_FILE, ResultCache, Row, RowKey, task_digest
from bench.tasks import DEFAULT_TASKS, load_tasks
from edge_agent.config import Config
from edge_agent.context import PrivateContext
from runtime.cli import main


def _run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exit_:  # a value the parser refuses (as for --limit and --max-tokens)
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in [v for v in os.environ if v.startswith("TANDEM_") and v != "TANDEM_MODELS_DIR"]:
        monkeypatch.delenv(var)
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    config = tmp_path / "config.toml"
    config.write_text("[edge]\nn_threads = 1\n[server]\nn_threads = 1\n")
    return config


def test_one_row_per_setting_with_ratios_and_the_quality_bench_figures(smol_path: Path, tmp_path: Path,
                                                                       clean_env: Path) -> None:
    task = load_tasks(DEFAULT_TASKS, 1)[0]
    results = tmp_path / "results"
    setup = answer_setup("edge", Config(), task.instruction, PrivateContext(task.private_context))
    ResultCache(results / CACHE_FILE).put(Row(RowKey(task.id, task_digest(task), "edge", smol_path.name,
                                                     smol_path.name, 160, setup), answer="a", fact_recall=0.5))
    code, out, err = _run(["--config", str(clean_env), "bench", "fuse", "--edge-model", str(smol_path),
                           "--cloud-model", str(smol_path), "--max-tokens", "4", "--limit", "1", "--rule", "delta",
                           "--modes", "selective", "--confidence", "0.3,0.9", "--quality-results", str(results)])
    assert code == 0, err
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in out.splitlines() if line.startswith("| ") and not line.startswith("| mode")}
    assert list(rows) == ["fuse delta, selective, confidence 0.3", "fuse delta, selective, confidence 0.9",
                          "cloud only", "edge only", "CoGenesis (computed)"]
    assert rows["edge only"][:2] == ["0.50 (1/30)", "-"]  # the stored row, found under this setting
    assert rows["fuse delta, selective, confidence 0.9"][:2] == ["-", "-"]  # no stored answers for it
    assert rows["cloud only"][4] == "1.00x" and rows["edge only"][5:7] == ["0.000", "0.000"]
    low, high = rows["fuse delta, selective, confidence 0.3"], rows["fuse delta, selective, confidence 0.9"]
    assert int(low[2]) > 0 and float(low[5]) > 0 and float(low[7]) > 0  # tokens, round trips, bytes up
    assert float(high[9].rstrip("%")) >= float(low[9].rstrip("%"))  # a higher confidence asks the cloud more
    assert "finish true" in out and "1 prompts x 4 tokens" in out and "confidence 0.3,0.9" in out
    assert "[1/4] fuse delta, selective, confidence 0.3: 1 answers" in err and "[4/4] edge only" in err


@pytest.mark.parametrize("args, message", [
    (["--quality-results", "no/such/dir"], "--quality-results: no/such/dir is not a directory"),
    (["--rule", "gate"], "cannot run gate"),
    (["--confidence", "0.2,high"], "--confidence: give numbers between 0 and 1"),
    (["--confidence", "1.5"], "--confidence: give numbers between 0 and 1"),
])
def test_bad_options_say_what_is_wrong_before_anything_starts(clean_env: Path, args: list[str], message: str) -> None:
    code, out, err = _run(["--config", str(clean_env), "bench", "fuse", *args])
    assert code == 2 and message in err and not out

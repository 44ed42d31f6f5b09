"""`tandem bench daemon` produces its figures (their values are for people, not for asserts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.daemon import format_figures, run


def test_bench_daemon_measures_a_real_daemon(smol_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_EDGE_N_THREADS", "1")
    figures = run("smollm2-135m", runs=2, idle_s=0.5, tokens=4)
    assert figures.ready_s >= figures.socket_s > 0
    assert figures.peak_rss_mb >= figures.rss_ready_mb > 50  # a loaded model is tens of MB at least
    assert figures.idle_cpu_pct >= 0 and len(figures.first_token_s) == 2 and figures.cold_first_token_s > 0
    text = format_figures(figures)
    assert "resident memory, ready:" in text and "first token through the socket:" in text

"""`tandem bench daemon` produces its figures (their values are for people, not for asserts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.daemon import format_figures, run


def test_bench_daemon_measures_a_real_daemon(smol_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_EDGE_N_THREADS", "1")
    figures = run("smollm2-135m", runs=2, idle_s=0.5, tokens=4, conversations=2, turns=3, turn_tokens=8)
    assert figures.ready_s >= figures.socket_s > 0
    assert figures.peak_rss_mb >= figures.rss_ready_mb > 50  # a loaded model is tens of MB at least
    assert figures.idle_cpu_pct >= 0 and len(figures.first_token_s) == 2 and figures.cold_first_token_s > 0
    # Each conversation was resumed (its history read in full), then followed up from its saved state.
    assert len(figures.resumed_first_token_s) == len(figures.follow_up_first_token_s) == 2
    for prompt, cached in zip(figures.follow_up_prompt_tokens, figures.follow_up_cached_tokens):
        assert prompt - cached < 30 < cached
    assert figures.cached_states >= 2 and figures.rss_cached_mb > 50
    text = format_figures(figures)
    assert "resident memory, ready:" in text and "first token through the socket:" in text
    assert "first token, follow-up (3 turns):" in text and "from saved states" in text

"""`tandem bench load` with tiny settings: a real cloud in a child process, loaded, then SIGTERM under load."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load import KINDS, LoadSettings, run
from bench.load_report import format_report
from runtime.cli import build_parser


def test_load_then_sigterm_under_load(smol_path: Path) -> None:
    settings = LoadSettings(model=str(smol_path), duration_s=2.5, clients=3, max_tokens=6, max_sessions=3,
                            grace_s=5.0, n_ctx=1024)
    progress: list[str] = []
    report = run(settings, progress.append)
    text = format_report(report)
    assert report.unexpected == [], text

    # load: every kind completed, nothing but OK (3 clients never fill 3 sessions or 16 calls)
    calls = [r for r in report.load if r.kind in KINDS]
    for kind in KINDS:
        assert any(r.kind == kind and r.code == "OK" and r.tokens > 0 for r in calls), kind
    assert {r.code for r in calls} == {"OK"}
    assert any(r.kind == "Fuse round trip" for r in report.load)

    # SIGTERM under that load: in-flight calls finished, new ones refused, exit 0
    d = report.drain
    assert d.in_flight["OK"] >= 1 and set(d.in_flight) <= {"OK", "UNAVAILABLE"}
    assert d.last_in_flight_s <= settings.grace_s
    # (CLIENT_WRITE_RACE: a refused Fuse open that grpc.aio reports as INTERNAL; see load.WRITE_RACE)
    assert d.refused_draining >= 1 and d.after["UNAVAILABLE"] >= 1
    assert set(d.after) <= {"UNAVAILABLE", "CANCELLED", "CLIENT_WRITE_RACE"}  # CANCELLED: arrived as it stopped
    assert d.exit_code == 0 and d.exit_s <= settings.grace_s + 5

    for heading in ("## load", "## SIGTERM under that load", "every call behaved as expected"):
        assert heading in text
    assert any("load:" in line for line in progress)


@pytest.mark.parametrize("argv, message", [
    (["bench", "load", "--duration", "0"], "must be positive"),
    (["bench", "load", "--clients", "0"], "must be at least 1"),
])
def test_bad_options_are_one_line_errors(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_options_reach_the_handler() -> None:
    args = build_parser().parse_args(["bench", "load", "--clients", "4", "--duration", "3", "--grace", "2"])
    assert (args.clients, args.duration, args.grace, args.model) == (4, 3.0, 2.0, "smollm2-135m")
    assert args.handler.__name__ == "bench_load"

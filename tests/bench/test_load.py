"""`tandem bench load` with tiny settings: real clouds in child processes, real faults."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load import KINDS, LoadSettings, run
from bench.load_report import format_report
from runtime.cli import build_parser


def test_load_and_fault_phases_behave(smol_path: Path) -> None:
    settings = LoadSettings(model=str(smol_path), duration_s=2.5, clients=3, max_tokens=6, max_sessions=3,
                            grace_s=5.0, n_ctx=1024, long_tokens=256)
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

    # cancel: the dropped streams freed their sessions, and the model
    cancel = report.cancel
    assert cancel.generate_cancelled == 3 and cancel.fuse_cancelled == 3
    assert cancel.reopened == 3
    assert "0 after closing it" in cancel.metrics  # the metrics endpoint agrees

    # sigterm: in-flight calls finished, new ones refused, health said NOT_SERVING, exit 0
    s = report.sigterm
    assert s.in_flight["OK"] >= 1 and set(s.in_flight) <= {"OK", "UNAVAILABLE"}
    assert s.last_in_flight_s <= settings.grace_s
    # (CLIENT_WRITE_RACE: a refused Fuse open that grpc.aio reports as INTERNAL; see load.WRITE_RACE)
    assert s.refused_draining >= 1 and s.after["UNAVAILABLE"] >= 1
    assert set(s.after) <= {"UNAVAILABLE", "CANCELLED", "CLIENT_WRITE_RACE"}  # CANCELLED: arrived as it stopped
    assert s.not_serving_s is not None and s.exit_code == 0

    # deadlines and the upstream faults: every probe got the status it should
    assert report.deadline and all(c.ok for c in report.deadline)
    assert [c.got for c in report.deadline[:3]] == ["DEADLINE_EXCEEDED"] * 3
    assert isinstance(report.upstream, list) and report.upstream and all(c.ok for c in report.upstream)
    down = [c for c in report.upstream if c.name.startswith("down") and c.got != "OK"]
    assert down and all(c.got == "UNAVAILABLE" and "unreachable" in c.details for c in down)

    for heading in ("## load", "## fault: clients gone", "## fault: SIGTERM", "## fault: upstream",
                    "## fault: deadlines", "every phase behaved as expected"):
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

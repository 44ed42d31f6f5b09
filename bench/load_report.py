"""The printed tables of `tandem bench load` (`format_report`)."""

from __future__ import annotations

from collections import Counter

from bench.load import FUSE_DRAFT, FUSE_STEPS, KINDS, CallRecord, DrainResult, LoadReport


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))]


LOAD_HEADER = (f"{'RPC':<17}{'calls':>7}{'OK':>7}  {'errors by status':<26}{'p50 ms':>8}{'p99 ms':>8}"
               f"{'tokens':>8}{'tok/s':>8}")


def load_table(records: list[CallRecord], seconds: float) -> str:
    """Per RPC kind: calls, OK, errors by status, p50/p99 latency, tokens and tokens/s."""
    lines = [LOAD_HEADER]
    rows = [("Generate", "Generate"), ("Sketch", "Sketch"), ("Fuse session", "Fuse"),
            ("Fuse round trip", "Fuse round trip")]
    for label, kind in rows:
        mine = [r for r in records if r.kind == kind]
        ok = [r for r in mine if r.code == "OK"]
        errors = Counter(r.code for r in mine if r.code != "OK")
        text = ", ".join(f"{c} {n}" for c, n in errors.most_common()) or "-"
        latencies = [r.seconds * 1000 for r in ok]
        p50 = f"{_percentile(latencies, 0.5):.0f}" if latencies else "-"
        p99 = f"{_percentile(latencies, 0.99):.0f}" if latencies else "-"
        tokens = sum(r.tokens for r in ok)
        rate = f"{tokens / seconds:.1f}" if seconds and kind != "Fuse round trip" else ""
        lines.append(f"{label:<17}{len(mine):>7}{len(ok):>7}  {text:<26}{p50:>8}{p99:>8}{tokens:>8}{rate:>8}")
    total = sum(r.tokens for r in records if r.code == "OK" and r.kind in KINDS)
    lines.append(f"overall: {total} tokens in {seconds:.1f} s = {total / seconds if seconds else 0:.1f} tokens/s "
                 "(Generate/Sketch: generated tokens; Fuse: positions scored)")
    return "\n".join(lines)


def _row(name: str, value: str, expected: str = "") -> str:
    return f"{name:<42}{value:<38}{expected}"


def _counts(counter: Counter) -> str:
    return ", ".join(f"{c} {n}" for c, n in counter.most_common()) or "-"


def drain_table(d: DrainResult) -> str:
    """SIGTERM at the end of the load: measured against what should happen."""
    def secs(v: float | None) -> str:
        return "never" if v is None else f"{v:.2f} s"

    return "\n".join([
        _row("", "measured", "expected"),
        _row("in flight at SIGTERM", _counts(d.in_flight), "OK, or UNAVAILABLE when cut"),
        _row("SIGTERM -> last in-flight OK", secs(d.last_in_flight_s), f"<= grace {d.grace_s:g} s"),
        _row("calls started after SIGTERM", _counts(d.after), "UNAVAILABLE"),
        _row("  refused by the draining server", str(d.refused_draining), "'shutting down'"),
        _row("SIGTERM -> process exit", secs(d.exit_s), f"<= grace {d.grace_s:g} s + shutdown"),
        _row("exit code", str(d.exit_code), "0"),
        *[f"  {where}: {details[:110]}" for where, details in sorted(d.examples.items())],
    ])


def format_report(report: LoadReport) -> str:
    """The load table, the drain table, and what misbehaved."""
    s = report.settings
    parts = [f"## load: {s.clients} clients, {s.duration_s:g} s, max_tokens {s.max_tokens}, "
             f"Fuse {FUSE_STEPS} steps x {FUSE_DRAFT} drafts, max_sessions {s.max_sessions}",
             load_table(report.load, report.load_seconds)]
    if report.drain is not None:
        parts += ["", f"## SIGTERM under that load (grace {s.grace_s:g} s)", drain_table(report.drain), ""]
    if report.unexpected:
        parts.append("unexpected:\n" + "\n".join(f"- {p}" for p in report.unexpected))
    else:
        parts.append("every call behaved as expected")
    return "\n".join(parts)

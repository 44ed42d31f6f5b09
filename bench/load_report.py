"""The printed tables of `tandem bench load` (`format_report`)."""

from __future__ import annotations

from collections import Counter

from bench.load import FUSE_DRAFT, FUSE_STEPS, KINDS, CallRecord, CancelResult, Check, LoadReport, SigtermResult


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))]


LOAD_HEADER = (f"{'RPC':<17}{'calls':>7}{'OK':>7}  {'errors by status':<26}{'p50 ms':>8}{'p99 ms':>8}"
               f"{'tokens':>8}{'tok/s':>8}")


def load_table(records: list[CallRecord], seconds: float) -> str:
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


def cancel_table(c: CancelResult) -> str:
    return "\n".join([
        _row("", "measured", "expected"),
        _row("Generate streams cancelled after 1 chunk", str(c.generate_cancelled)),
        _row("Fuse sessions cancelled after 1 step", str(c.fuse_cancelled)),
        _row("next short Generate (4 tokens)", f"{c.next_generate_s * 1000:.0f} ms", "no queue behind the dropped"),
        _row("new batch of Fuse sessions opened", f"{c.reopened}/{c.max_sessions}", f"{c.max_sessions}/{c.max_sessions}"),
        _row("cancels -> whole new batch open", f"{c.reopen_s:.2f} s"),
        f"metrics: {c.metrics}",
        *[f"unexpected: {where}: {details[:90]}" for where, details in c.errors.items()],
    ])


def _counts(counter: Counter) -> str:
    return ", ".join(f"{c} {n}" for c, n in counter.most_common()) or "-"


def sigterm_table(s: SigtermResult) -> str:
    def secs(v: float | None) -> str:
        return "never" if v is None else f"{v:.2f} s"

    return "\n".join([
        _row("", "measured", "expected"),
        _row("calls finished before SIGTERM", _counts(s.before), "OK"),
        _row("in flight at SIGTERM", _counts(s.in_flight), "OK, or UNAVAILABLE:"),
        _row("  cut when the grace period ran out", str(s.in_flight_cut), "queued work past grace_s"),
        _row("SIGTERM -> last in-flight OK", secs(s.last_in_flight_s), f"<= grace {s.grace_s:g} s"),
        _row("calls started after SIGTERM", _counts(s.after), "UNAVAILABLE"),
        _row("  refused by the draining server", str(s.refused_draining), ">= 1 ('shutting down')"),
        _row("SIGTERM -> first refusal", secs(s.first_refusal_s)),
        _row("SIGTERM -> health NOT_SERVING", secs(s.not_serving_s), "seen"),
        _row("SIGTERM -> process exit", secs(s.exit_s), f"<= grace {s.grace_s:g} s + shutdown"),
        _row("exit code", str(s.exit_code), "0"),
        "statuses seen (the first of each):",
        *[f"  {where}: {details[:110]}" for where, details in sorted(s.examples.items())],
    ])


def checks_table(checks: list[Check]) -> str:
    lines = [f"{'check':<44}{'expected':<34}{'got':<20}{'ms':>7}  details"]
    for c in checks:
        mark = "" if c.ok else "  <-- unexpected"
        lines.append(f"{c.name:<44}{c.expected:<34}{c.got:<20}{c.seconds * 1000:>7.0f}  {c.details[:70]}{mark}")
    return "\n".join(lines)


def format_report(report: LoadReport) -> str:
    s = report.settings
    parts = [f"## load: {s.clients} clients, {s.duration_s:g} s, max_tokens {s.max_tokens}, "
             f"Fuse {FUSE_STEPS} steps x {FUSE_DRAFT} drafts, max_sessions {s.max_sessions}",
             load_table(report.load, report.load_seconds)]
    if report.cancel is not None:
        parts += ["", "## fault: clients gone mid-stream", cancel_table(report.cancel)]
    if report.sigterm is not None:
        parts += ["", f"## fault: SIGTERM under load ({s.clients} clients, grace {s.grace_s:g} s)",
                  sigterm_table(report.sigterm)]
    parts += ["", "## fault: upstream down / slow (openai backend)"]
    parts.append(checks_table(report.upstream) if isinstance(report.upstream, list) else report.upstream)
    parts += ["", "## fault: deadlines shorter than the work (embedded backend)", checks_table(report.deadline), ""]
    parts += [f"note: {note}" for note in report.notes]
    if report.unexpected:
        parts.append("unexpected:\n" + "\n".join(f"- {p}" for p in report.unexpected))
    else:
        parts.append("every phase behaved as expected")
    return "\n".join(parts)

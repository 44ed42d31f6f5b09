"""Guard cost per instruction on the benchmark tasks (issue 15: <= 50 ms once loaded).

    python -m bench.privacy.latency [--tasks bench/tasks/personal_writing.jsonl]

For each task: build the request's guard from its notes (the recognizer reads each notes line
once; later requests find it cached) and redact the instruction; prints the times and the
redacted instructions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

TASKS = Path(__file__).resolve().parents[1] / "tasks" / "personal_writing.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=Path, default=TASKS)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    from edge_agent.privacy import PrivacyGuard, PrivacySettings

    settings = PrivacySettings(allow_file=None)
    PrivacyGuard(["Name: Priya Sharma"], settings).redact("Load everything first, Priya.")
    tasks = [json.loads(line) for line in args.tasks.read_text(encoding="utf-8").splitlines() if line.strip()]
    timings: dict[str, list[float]] = {"guard from notes, first time": [], "guard from notes, cached": [],
                                       "redact the instruction": []}
    for task in tasks:
        notes = task["private_context"].splitlines()
        for label in ("guard from notes, first time", "guard from notes, cached"):
            start = time.perf_counter()
            guard = PrivacyGuard(notes, settings)
            timings[label].append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        redacted = guard.redact(task["instruction"]).text
        timings["redact the instruction"].append((time.perf_counter() - start) * 1000)
        if not args.quiet:
            print(f"{timings['redact the instruction'][-1]:6.1f} ms  {redacted}")
    print(f"\n{len(tasks)} tasks: ms mean / median / max")
    for label, values in timings.items():
        print(f"  {label:<32} {statistics.fmean(values):6.1f} / {statistics.median(values):6.1f} / {max(values):6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Resident memory of the edge with the recognizer loaded (issue 15: the daemon stays under 1.2 GB).

    python -m bench.privacy.memory [--model PATH]

Loads what the daemon holds (the edge model, the ONNX scorer) and then the privacy guard's
recognizer and lexicon, printing the resident set size (VmRSS) after each step.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def rss_mb() -> float:
    """This process's resident set size in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    models = Path.home() / ".cache" / "tandem" / "models"
    parser.add_argument("--model", default=str(models / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"))
    parser.add_argument("--no-model", action="store_true", help="measure the recognizer alone")
    args = parser.parse_args(argv)
    steps = [("python + edge_agent.privacy imported", None)]
    from edge_agent.privacy import PrivacyGuard, PrivacySettings

    print(f"{'step':<46} {'RSS MB':>8} {'seconds':>8}")
    print(f"{steps[0][0]:<46} {rss_mb():8.0f} {0:8.1f}")

    def step(name: str, action) -> None:
        start = time.perf_counter()
        action()
        print(f"{name:<46} {rss_mb():8.0f} {time.perf_counter() - start:8.1f}", flush=True)

    held = []
    if not args.no_model:
        from edge_agent.local_model import EdgeModel

        step("edge model loaded (n_ctx 4096)",
             lambda: held.append(EdgeModel(Path(args.model), n_ctx=4096, n_threads=1)))
    step("lexicon loaded (BASIC guard)", lambda: PrivacyGuard(["Name: Priya Sharma"]).redact("I take sertraline"))
    settings = PrivacySettings(allow_file=None)
    step("recognizer loaded, first redaction", lambda: PrivacyGuard(["Name: Priya Sharma"], settings).redact(
        "Email Johnny Bay at H&R Technology about my sertraline."))
    long_text = " ".join(["Rachel Zheng from H&R Technology met Johnny Bay at the University of Westminster."] * 60)
    step("after a 5,000-character instruction", lambda: PrivacyGuard([], settings).redact(long_text))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A one-line progress display for long work (model installs, benchmarks)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressLine:
    """Progress on stderr: an updating line on a terminal, a line every few seconds otherwise."""

    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self._last = 0.0
        self._tty = stream.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < (0.2 if self._tty else 5.0):
            return
        self._last = now
        if stage == "download":
            text = f"{self.label}: downloading {total} package(s)" + (" done" if done == total else "...")
        else:
            pct = 100 * done / total if total else 100
            text = f"{self.label}: {stage} {pct:5.1f}% ({done / 1e6:,.0f} / {total / 1e6:,.0f} MB)"
        if self._tty:
            self.stream.write("\r\033[K" + text + ("\n" if done == total else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

"""Progress of long work (model installs, benchmarks) on stderr, drawn by rich.

On a terminal it is a live bar; elsewhere (logs, CI) rich prints nothing live, so a plain
line is written every few seconds and at the end.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

PLAIN_EVERY_S = 5.0  # how often a non-terminal gets a line


class ProgressLine:
    """A callable `(stage, done, total)` for `runtime.models.install`: one bar per stage on a terminal."""

    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self._console = Console(file=stream)
        self._live = self._console.is_terminal
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._stage = ""
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Report `done` of `total` for `stage` (bytes; packages in the download stage): a live bar or a plain line."""
        if self._live:
            self._draw(stage, done, total)
        else:
            self._plain(stage, done, total)

    def _draw(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage or self._progress is None:
            self.close()
            columns = [TextColumn(f"{self.label}: {stage}"), BarColumn()]
            if stage != "download":
                columns += [DownloadColumn(), TimeRemainingColumn()]
            self._progress = Progress(*columns, console=self._console, transient=False)
            self._progress.start()
            self._task = self._progress.add_task(stage, total=max(total, 1))
            self._stage = stage
        assert self._task is not None
        self._progress.update(self._task, completed=done, total=max(total, 1))
        if done >= total:
            self.close()

    def _plain(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < PLAIN_EVERY_S:
            return
        self._last = now
        if stage == "download":
            text = f"{self.label}: downloading {total} package(s)" + (" done" if done == total else "...")
        else:
            pct = 100 * done / total if total else 100
            text = f"{self.label}: {stage} {pct:5.1f}% ({done / 1e6:,.0f} / {total / 1e6:,.0f} MB)"
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Stop a live bar (left on screen as a finished line)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._stage = ""

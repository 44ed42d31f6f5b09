"""Record every request the service receives, byte for byte (off by default).

This is how the canary test and the benchmark prove what the cloud saw: they start
the service with `server.capture_file` set and read the file back. A production
deployment leaves it empty, and the service then logs counts and timings only.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CapturedRequest:
    method: str  # e.g. "Generate"
    payload: bytes  # exactly the bytes received
    time: float


class RequestCapture:
    """Appends `{"method", "payload" (base64), "time"}` lines to a JSONL file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, method: str, payload: bytes) -> None:
        """Append one received message, as the bytes that came over the wire."""
        line = json.dumps({"method": method, "payload": base64.b64encode(payload).decode(), "time": time.time()})
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")


def read_capture(path: Path) -> list[CapturedRequest]:
    """Everything a capture file holds (an absent file holds nothing)."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            records.append(CapturedRequest(item["method"], base64.b64decode(item["payload"]), item["time"]))
    return records

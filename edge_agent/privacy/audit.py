"""The outbound audit log: every message that leaves the device, byte for byte.

One JSON object per line (JSONL), appended and fsynced before the message is sent, in a
file only the user can read (mode 0600). The payload is stored base64; the summary (a
readable view given by the caller) as text. A line cut short by a crash is skipped on
reading, and the next append starts on a fresh line.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700


@dataclass(frozen=True)
class AuditEntry:
    """One outbound message."""

    time: str  # ISO-8601 UTC
    peer: str  # e.g. "127.0.0.1:50051"
    rpc: str  # e.g. "/tandem.v1.CloudModel/Generate"
    payload: bytes  # the exact bytes sent on the wire
    summary: str  # human-readable view of the payload
    request_id: str = ""  # groups the entries of one user request

    def to_json(self) -> str:
        """One log line: the payload as base64 with its byte count, and the other fields as they are."""
        return json.dumps(
            {
                "time": self.time,
                "peer": self.peer,
                "rpc": self.rpc,
                "bytes": len(self.payload),
                "payload": base64.b64encode(self.payload).decode("ascii"),
                "summary": self.summary,
                "request_id": self.request_id,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, line: str) -> AuditEntry:
        """Parse one log line; raises ValueError (or KeyError/TypeError) on a damaged one."""
        data = json.loads(line)
        return cls(
            time=str(data["time"]),
            peer=str(data["peer"]),
            rpc=str(data["rpc"]),
            payload=base64.b64decode(data["payload"], validate=True),
            summary=str(data["summary"]),
            request_id=str(data.get("request_id", "")),
        )


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AuditLog:
    """An append-only JSONL log of outbound messages; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)  # also tighten a file that existed with looser rights
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.path.parent)

    def record(self, *, peer: str, rpc: str, payload: bytes, summary: str, request_id: str = "") -> AuditEntry:
        """Append one entry and make it durable before returning it."""
        entry = AuditEntry(_utc_now(), peer, rpc, bytes(payload), summary, request_id)
        line = (entry.to_json() + "\n").encode("utf-8")
        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, FILE_MODE)
            try:
                if _ends_mid_line(fd):
                    line = b"\n" + line  # a crash cut the last line: do not glue onto it
                _write_all(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        return entry

    def entries(self, last: int | None = None, request_id: str | None = None) -> list[AuditEntry]:
        """Entries in the order written, optionally of one request and only the `last` n."""
        with self._lock:
            try:
                raw = self.path.read_bytes()
            except FileNotFoundError:
                return []
        found: list[AuditEntry] = []
        for number, line in enumerate(raw.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                entry = AuditEntry.from_json(line.decode("utf-8"))
            except (ValueError, KeyError, TypeError, binascii.Error):
                log.warning("audit log %s: skipping damaged line %d", self.path, number)
                continue
            if request_id is None or entry.request_id == request_id:
                found.append(entry)
        if last is not None:
            found = found[-last:] if last > 0 else []
        return found


def _ends_mid_line(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def format_entries(entries: Sequence[AuditEntry]) -> str:
    """Readable text for `tandem audit`: a header line per message, its summary indented below."""
    if not entries:
        return "No messages have left this device."
    blocks: list[str] = []
    for entry in entries:
        header = f"{entry.time}  {entry.peer}  {entry.rpc}  {len(entry.payload)} bytes"
        if entry.request_id:
            header += f"  request {entry.request_id}"
        summary = entry.summary.strip() or "(empty message)"
        blocks.append(header + "\n" + "\n".join("    " + line for line in summary.splitlines()))
    return "\n\n".join(blocks) + "\n"

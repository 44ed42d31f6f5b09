"""The outbound audit log: durable, private, readable, and tolerant of a crash mid-write."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

from edge_agent.privacy import AuditEntry, AuditLog, format_entries

PEER = "127.0.0.1:50051"
RPC = "/tandem.v1.CloudModel/Generate"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_is_created_private_with_its_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "audit.jsonl"
    AuditLog(path)
    assert path.exists() and path.read_bytes() == b""
    assert _mode(path) == 0o600


def test_existing_file_is_tightened_to_0600(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text("")
    os.chmod(path, 0o644)
    AuditLog(path)
    assert _mode(path) == 0o600


def test_record_keeps_the_exact_bytes(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    payload = bytes(range(256))  # not UTF-8: must survive as bytes
    entry = log.record(peer=PEER, rpc=RPC, payload=payload, summary='prompt: "hi [PERSON_1]"', request_id="r1")
    assert entry.payload == payload
    (read,) = log.entries()
    assert read == entry
    assert read.payload == payload and read.summary == 'prompt: "hi [PERSON_1]"' and read.request_id == "r1"


def test_line_format_is_json_with_base64_payload(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    AuditLog(path).record(peer=PEER, rpc=RPC, payload=b"\x0a\x02hi", summary="prompt: \"hi\"")
    (line,) = path.read_text().splitlines()
    data = json.loads(line)
    assert base64.b64decode(data["payload"]) == b"\x0a\x02hi"
    assert data["summary"] == 'prompt: "hi"'
    assert data["peer"] == PEER and data["rpc"] == RPC and data["bytes"] == 4


def test_time_is_iso_8601_utc(tmp_path: Path) -> None:
    entry = AuditLog(tmp_path / "audit.jsonl").record(peer=PEER, rpc=RPC, payload=b"", summary="")
    when = datetime.fromisoformat(entry.time.replace("Z", "+00:00"))
    assert when.utcoffset() == UTC.utcoffset(None)
    assert abs((datetime.now(UTC) - when).total_seconds()) < 60


def test_entries_filter_by_request_and_last(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    for i in range(5):
        log.record(peer=PEER, rpc=RPC, payload=bytes([i]), summary=f"n: {i}", request_id="a" if i % 2 else "b")
    assert [e.payload for e in log.entries()] == [bytes([i]) for i in range(5)]
    assert [e.payload for e in log.entries(last=2)] == [b"\x03", b"\x04"]
    assert [e.payload for e in log.entries(request_id="a")] == [b"\x01", b"\x03"]
    assert [e.payload for e in log.entries(last=1, request_id="b")] == [b"\x04"]
    assert log.entries(last=0) == []


def test_entries_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    AuditLog(path).record(peer=PEER, rpc=RPC, payload=b"one", summary="1")
    AuditLog(path).record(peer=PEER, rpc=RPC, payload=b"two", summary="2")
    assert [e.payload for e in AuditLog(path).entries()] == [b"one", b"two"]


def test_truncated_last_line_is_skipped_and_next_append_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.record(peer=PEER, rpc=RPC, payload=b"kept", summary="ok")
    whole = AuditEntry("2024-01-01T00:00:00.000Z", PEER, RPC, b"lost", "cut").to_json()
    with open(path, "a", encoding="utf-8") as f:
        f.write(whole[: len(whole) // 2])  # the crash: half a line, no newline
    assert [e.payload for e in log.entries()] == [b"kept"]
    log.record(peer=PEER, rpc=RPC, payload=b"after", summary="ok")
    assert [e.payload for e in log.entries()] == [b"kept", b"after"]


def test_missing_file_reads_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    path.unlink()
    assert log.entries() == []


def test_concurrent_appends_do_not_interleave(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    big = b"x" * 5000

    def worker(n: int) -> None:
        for i in range(25):
            log.record(peer=PEER, rpc=RPC, payload=big + bytes([n, i]), summary=f"{n}/{i}", request_id=str(n))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = log.entries()
    assert len(entries) == 200
    assert {e.payload[-2:] for e in entries} == {bytes([n, i]) for n in range(8) for i in range(25)}
    for n in range(8):  # each thread's entries stay in its own order
        assert [e.summary for e in log.entries(request_id=str(n))] == [f"{n}/{i}" for i in range(25)]


def test_format_entries(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    summary = 'prompt: "hi [PERSON_1]"\nmax_tokens: 8'
    log.record(peer=PEER, rpc=RPC, payload=b"12345", summary=summary, request_id="req1")
    text = format_entries(log.entries())
    header, *body = text.strip().splitlines()
    entry = log.entries()[0]
    assert header.startswith(entry.time)
    assert PEER in header and RPC in header and "5 bytes" in header and "req1" in header
    assert body == ['    prompt: "hi [PERSON_1]"', "    max_tokens: 8"]


def test_format_entries_empty() -> None:
    assert "No messages" in format_entries([])

"""`tandem context ...` as a user runs it (subprocesses, the real store and embedder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.store import Store


def tandem(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runtime.cli", *args], capture_output=True, text=True,
                          input=stdin, env=os.environ.copy(), timeout=120)


@pytest.mark.slow  # loads a model in a subprocess
def test_add_list_show_search_remove(tmp_path: Path, isolated_dirs: Path) -> None:
    doc = tmp_path / "lease.md"
    doc.write_text("# Lease\n\nRent is due on the first day of each month.\n", encoding="utf-8")
    added = tandem("context", "add", str(doc), "--note", "-", "--profile", "My name is Priya Sharma.",
                   stdin="Dentist on Friday at 10am with Dr Chen\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines() == [
        "added document 1: lease.md (1 chunk)",
        "added note 2: Dentist on Friday at 10am with Dr Chen (1 chunk)",
        "added profile 3: profile (1 chunk)",
    ]
    listing = tandem("context", "list", "--kind", "note")
    assert listing.returncode == 0 and "Dentist on Friday" in listing.stdout and "lease.md" not in listing.stdout
    shown = tandem("context", "show", "1")
    assert "# document 1: lease.md" in shown.stdout and "Rent is due" in shown.stdout
    found = tandem("context", "search", "when do I pay rent?", "-k", "1")
    assert found.returncode == 0 and "[1] lease.md: # Lease Rent is due" in found.stdout
    removed = tandem("context", "remove", "1", "2")
    assert removed.stdout.splitlines() == ["removed document 1: lease.md",
                                           "removed note 2: Dentist on Friday at 10am with Dr Chen"]
    with Store(isolated_dirs / "data" / "tandem" / "store.sqlite3") as store:
        assert [item.kind for item in store.list_items()] == ["profile"]


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tandem: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_bad_documents_are_refused_in_one_line_and_nothing_is_added(tmp_path: Path, isolated_dirs: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("A perfectly fine note.\n", encoding="utf-8")
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    latin = tmp_path / "old.txt"
    latin.write_bytes("Gr\u00fc\u00dfe".encode("latin-1"))
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"a" * (2 * 1024 * 1024))
    assert_one_line_error(tandem("context", "add", str(good), str(binary)), "photo.jpg looks binary")
    assert_one_line_error(tandem("context", "add", str(latin)), "old.txt is not UTF-8 text", "iconv")
    assert_one_line_error(tandem("context", "add", str(huge)), "huge.txt is 2.0 MiB; the limit is 1 MiB")
    assert_one_line_error(tandem("context", "add"), "nothing to add")
    assert_one_line_error(tandem("context", "show", "42"), "there is no context item 42")
    listing = tandem("context", "list")
    assert "the store is empty" in listing.stdout  # good.txt was not added either: all or nothing

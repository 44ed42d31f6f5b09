"""Reading a document the user imports: refuse anything that is not reasonable UTF-8 text."""

from __future__ import annotations

from pathlib import Path

from edge_agent.store.types import StoreError

MAX_DOCUMENT_BYTES = 1024 * 1024  # 1 MiB of text is ~2,000 chunks, ~20 s to embed on 2 cores


def read_document(path: Path) -> str:
    """The text of a UTF-8 text or markdown file; StoreError naming the problem otherwise."""
    path = Path(path).expanduser()
    if not path.exists():
        raise StoreError(f"document {path} does not exist")
    if not path.is_file():
        raise StoreError(f"document {path} is not a regular file")
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise StoreError(
            f"document {path} is {size / 1024 / 1024:.1f} MiB; the limit is {MAX_DOCUMENT_BYTES // 1024 // 1024} MiB "
            "(split it, or add the parts you need)"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"cannot read document {path}: {exc.strerror}") from None
    if b"\x00" in data:
        raise StoreError(f"document {path} looks binary (it contains NUL bytes); add text or markdown files only")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StoreError(
            f"document {path} is not UTF-8 text (bad byte at offset {exc.start}); convert it, e.g. "
            f"`iconv -f latin1 -t utf-8`"
        ) from None
    if not text.strip():
        raise StoreError(f"document {path} is empty")
    return text.strip()

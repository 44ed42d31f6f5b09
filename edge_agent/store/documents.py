"""Reading a document the user imports: refuse anything that is not reasonable UTF-8 text."""

from __future__ import annotations

from pathlib import Path

from edge_agent.context import read_text_file
from edge_agent.store.types import StoreError

MAX_DOCUMENT_BYTES = 1024 * 1024  # 1 MiB of text is ~2,000 chunks, ~20 s to embed on 2 cores


def read_document(path: Path) -> str:
    """The text of a UTF-8 text or markdown file; StoreError naming the problem otherwise."""
    text = read_text_file(path, "document", MAX_DOCUMENT_BYTES, StoreError)
    if not text:
        raise StoreError(f"document {Path(path).expanduser()} is empty")
    return text

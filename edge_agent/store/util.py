"""Small helpers shared by the store's modules."""

from __future__ import annotations

from datetime import UTC, datetime

TITLE_CHARS = 60


def now() -> str:
    """The current time, ISO 8601 UTC with microseconds (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def short_title(text: str) -> str:
    """The first line of `text`, cut at a word to at most TITLE_CHARS characters."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(line) <= TITLE_CHARS:
        return line
    cut = line.rfind(" ", 0, TITLE_CHARS - 1)
    return line[: cut if cut > 20 else TITLE_CHARS - 1].rstrip() + "…"

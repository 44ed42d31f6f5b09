"""The user's private context for one request (from a file now; from the store later)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MAX_CONTEXT_BYTES = 256 * 1024


class ContextError(ValueError):
    """A context file cannot be used; the message says why."""


@dataclass(frozen=True)
class PrivateContext:
    """Private text that must stay on the device."""

    text: str = ""
    source: str = ""
    guard_texts: tuple[str, ...] = ()  # more private text the guard must know, not shown to the model

    @property
    def guard_lines(self) -> list[str]:
        """Everything the privacy guard learns its sensitive spans from."""
        extra = [line.strip() for text in self.guard_texts for line in text.splitlines() if line.strip()]
        return self.lines + extra

    @property
    def lines(self) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip()]

    def __bool__(self) -> bool:
        return bool(self.text.strip())


def load_context_file(path: Path | str) -> PrivateContext:
    """Read a UTF-8 text file of private notes; refuse binary, non-UTF-8 and huge files."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ContextError(f"context file {path} does not exist")
    size = path.stat().st_size
    if size > MAX_CONTEXT_BYTES:
        raise ContextError(
            f"context file {path} is {size // 1024} KiB; the limit is {MAX_CONTEXT_BYTES // 1024} KiB "
            "(pass the relevant notes only)"
        )
    data = path.read_bytes()
    if b"\x00" in data:
        raise ContextError(f"context file {path} looks binary (it contains NUL bytes); pass a text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ContextError(f"context file {path} is not UTF-8 text (bad byte at offset {exc.start})") from None
    return PrivateContext(text=text.strip(), source=str(path))

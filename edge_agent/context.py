"""The user's private context for one request (from a file now; from the store later)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runtime.errors import UserError

MAX_CONTEXT_BYTES = 256 * 1024


class ContextError(UserError, ValueError):
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
        """The non-blank lines of `text`, stripped."""
        return [line.strip() for line in self.text.splitlines() if line.strip()]

    def __bool__(self) -> bool:
        return bool(self.text.strip())


def load_context_file(path: Path | str) -> PrivateContext:
    """Read a UTF-8 text file of private notes; refuse binary, non-UTF-8 and huge files."""
    text = read_text_file(path, "context file", MAX_CONTEXT_BYTES, ContextError)
    return PrivateContext(text=text, source=str(Path(path).expanduser()))


def read_text_file(path: Path | str, what: str, max_bytes: int, error: type[Exception]) -> str:
    """The stripped text of a UTF-8 file, or `error` with a message naming `what`, the path and the fix."""
    path = Path(path).expanduser()
    if not path.exists():
        raise error(f"{what} {path} does not exist")
    if not path.is_file():
        raise error(f"{what} {path} is not a regular file")
    size = path.stat().st_size
    if size > max_bytes:
        raise error(f"{what} {path} is {_size(size)}; the limit is {_limit(max_bytes)} (pass only the parts you need)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    if b"\x00" in data:
        raise error(f"{what} {path} looks binary (it contains NUL bytes); pass a text or markdown file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(
            f"{what} {path} is not UTF-8 text (bad byte at offset {exc.start}); convert it, "
            "e.g. `iconv -f latin1 -t utf-8`"
        ) from None
    return text.strip()


def _size(n: int) -> str:
    """Sizes as people read them; a limit that is a round number stays round ("1 MiB")."""
    mib = 1024 * 1024
    if n < mib:
        return f"{n // 1024} KiB"
    return f"{n / mib:.1f} MiB"


def _limit(n: int) -> str:
    mib = 1024 * 1024
    return f"{n // mib} MiB" if n % mib == 0 else _size(n)

"""The user's allow-list of public names: names the guard may send as they are.

A plain UTF-8 file, one name per line (`#` starts a comment), at
`<data dir>/privacy_allow.txt` unless a path is given. `tandem privacy allow NAME` calls
`allow()`; the guard reads `read_allow_list()` once per request. Names are compared
casefolded, word by word ("acme  corp" allows "Acme Corp"). Pattern hits (emails, phones,
ids) are never allowed: the list is for names.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

FILE_NAME = "privacy_allow.txt"
_lock = threading.Lock()


def allow_file() -> Path:
    """Where the allow-list lives: `<data dir>/privacy_allow.txt`."""
    from runtime import paths

    return paths.data_dir() / FILE_NAME


def read_allow_list(path: Path | None = None) -> list[str]:
    """The names on the list, in file order (an absent file is an empty list)."""
    path = path or allow_file()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _key(name: str) -> str:
    return " ".join(name.casefold().split())


def allow(name: str, path: Path | None = None) -> bool:
    """Add `name` to the list; False if it was already there. The file is created 0600."""
    name = " ".join(name.split())
    if not name:
        raise ValueError("an empty name cannot be allowed")
    path = path or allow_file()
    with _lock:
        names = read_allow_list(path)
        if _key(name) in {_key(n) for n in names}:
            return False
        _write(path, names + [name])
        return True


def disallow(name: str, path: Path | None = None) -> bool:
    """Remove `name` from the list; False if it was not there."""
    path = path or allow_file()
    with _lock:
        names = read_allow_list(path)
        kept = [n for n in names if _key(n) != _key(name)]
        if len(kept) == len(names):
            return False
        _write(path, kept)
        return True


def _write(path: Path, names: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("# public names the privacy guard may send as they are (tandem privacy allow NAME)\n")
        f.writelines(f"{n}\n" for n in names)
    os.replace(tmp, path)

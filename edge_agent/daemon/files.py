"""Where a daemon keeps its socket, pid file and log."""

from __future__ import annotations

import os
from pathlib import Path

from runtime import paths

DIR_MODE = 0o700
SOCKET_MODE = 0o600


def pid_path(socket_path: Path) -> Path:
    """Next to the socket: `daemon.sock` -> `daemon.pid`."""
    return socket_path.with_suffix(".pid")


def log_path() -> Path:
    """What a background daemon writes (stdout and stderr): `<data dir>/daemon.log`."""
    return paths.data_dir() / "daemon.log"


def prepare_dir(path: Path) -> None:
    """Create the socket's directory, only the user may enter it (a second lock besides the socket's mode)."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if path != Path(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent")):  # never chmod the runtime dir itself
        try:
            os.chmod(path, DIR_MODE)
        except PermissionError:
            pass  # not ours (e.g. /tmp); the socket's own 0600 still protects it


def read_pid(socket_path: Path) -> int | None:
    try:
        return int(pid_path(socket_path).read_text().strip())
    except (OSError, ValueError):
        return None

"""Start and stop the daemon as a background process (`tandem daemon start|stop`, tests, benchmarks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from edge_agent.cloud_process import terminate
from edge_agent.daemon.client import DaemonClient, DaemonError
from edge_agent.daemon.files import read_pid

POLL_S = 0.1


def foreground_command(config_file: str | None = None) -> list[str]:
    """The command that runs the daemon in the foreground (also what the systemd unit runs)."""
    cmd = [sys.executable, "-m", "runtime.cli"]
    if config_file:
        cmd += ["--config", str(Path(config_file).expanduser().resolve())]
    return cmd + ["daemon", "start", "--foreground"]


class DaemonProcess:
    """A daemon in a child process of its own session (a Ctrl-C in the terminal does not reach it)."""

    def __init__(self, socket_path: Path, log_path: Path, config_file: str | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.socket_path = socket_path
        self.log_path = log_path
        self.config_file = config_file
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> DaemonProcess:
        """Spawn and wait until the socket answers (the models may still be loading)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.log_path, "ab") as log:
            os.chmod(self.log_path, 0o600)
            self.proc = subprocess.Popen(
                foreground_command(self.config_file), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self.env if self.env is not None else os.environ.copy(), start_new_session=True,
            )
        with DaemonClient(self.socket_path) as client:
            deadline = time.monotonic() + timeout
            while not client.available():
                if self.proc.poll() is not None:
                    raise DaemonError(f"the daemon exited with code {self.proc.returncode}: {self.log_tail()}")
                if time.monotonic() > deadline:
                    self.kill()
                    raise DaemonError(f"the daemon did not answer on {self.socket_path} within {timeout:g}s: "
                                      f"{self.log_tail()}")
                time.sleep(POLL_S)
        return self

    def wait_ready(self, timeout: float = 300.0) -> dict:
        return wait_ready(self.socket_path, timeout, self)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (graceful), SIGKILL if it does not stop in time; the exit code."""
        if self.proc is None:
            return None
        return terminate(self.proc, timeout)

    def kill(self) -> None:
        """SIGKILL: what a crash or `kill -9` does (no cleanup at all)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(no output)"

    def __enter__(self) -> DaemonProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_ready(socket_path: Path, timeout: float, process: DaemonProcess | None = None) -> dict:
    """Wait until the daemon says ready; DaemonError if it fails to load or dies."""
    deadline = time.monotonic() + timeout
    with DaemonClient(socket_path) as client:
        while True:
            if process is not None and process.proc is not None and process.proc.poll() is not None:
                raise DaemonError(f"the daemon exited with code {process.proc.returncode}: {process.log_tail()}")
            status = client.status() if client.available() else {"state": "down"}
            if status["state"] == "ready":
                return status
            if status["state"] == "error":
                raise DaemonError(f"the daemon could not load its models: {status['error']}")
            if time.monotonic() > deadline:
                raise DaemonError(f"the daemon was not ready after {timeout:g}s (state: {status['state']})")
            time.sleep(POLL_S)


def stop_daemon(socket_path: Path, timeout: float = 30.0) -> int | None:
    """Stop the daemon serving `socket_path` (not necessarily our child); its pid, or None if none ran."""
    with DaemonClient(socket_path) as client:
        pid = client.status()["pid"] if client.available() else read_pid(socket_path)
    if not pid or not _alive(pid) or not _is_daemon(pid):  # a stale pid file may name someone else now
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(POLL_S)
    return pid


def _is_daemon(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"daemon" in argv and b"--foreground" in argv


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, but not ours
    # A zombie (exited, not yet reaped by its parent) has stopped serving: count it as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return True

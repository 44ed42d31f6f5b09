"""Start `tandem cloud serve` as a child process and wait until it serves.

Used by `tandem demo`, the benchmarks and the tests: the cloud runs where a user
would run it, in its own process, on loopback.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from edge_agent.cloud_channel import open_channel
from edge_agent.config import CloudConfig, ConfigError
from runtime.errors import UserError


class CloudStartError(UserError, RuntimeError):
    """The cloud service did not come up; the message includes the end of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def health_status(address: str, timeout: float = 1.0, service: str = "", cloud: CloudConfig | None = None) -> str:
    """SERVING / NOT_SERVING / ..., 'UNREACHABLE' or 'MISCONFIGURED (why)'.

    `cloud` gives the TLS settings; health checks need no token.
    """
    try:
        channel = open_channel(address, cloud or CloudConfig())
    except ConfigError as exc:  # e.g. an unreadable cloud.ca_file: say so rather than "offline"
        return f"MISCONFIGURED ({exc})"
    with channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout
            )
        except grpc.RpcError:
            return "UNREACHABLE"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def terminate(proc: subprocess.Popen, timeout: float) -> int:
    """SIGTERM (graceful), SIGKILL if it has not exited after `timeout` s; the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class CloudProcess:
    """`with CloudProcess(model=...) as cloud:` runs a cloud service until the block ends."""

    def __init__(
        self,
        model: str | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
        config: Path | None = None,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        cpu_list: str | None = None,
        probe: CloudConfig | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.model = model
        self.config = config
        self.extra_args = extra_args
        self.env = env
        self.log_path = log_path
        self.cpu_list = cpu_list  # e.g. "1" to pin the cloud to one core with taskset
        self.probe = probe  # how a client reaches it (TLS settings) for the health probe; None: plaintext
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = None
        self._previous_handler = None

    @property
    def address(self) -> str:
        """host:port of the child's gRPC service."""
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 180.0) -> CloudProcess:
        """Start the child and wait until it serves; until `stop()`, SIGTERM to us raises KeyboardInterrupt."""
        self._previous_handler = _interrupt_on_sigterm()
        cmd = [sys.executable, "-m", "runtime.cli"]
        if self.config:
            cmd += ["--config", str(self.config)]
        cmd += ["cloud", "serve", "--host", self.host, "--port", str(self.port), *self.extra_args]
        if self.model:
            cmd += ["--model", self.model]
        if self.cpu_list:
            cmd = ["taskset", "-c", self.cpu_list, *cmd]
        if self.log_path:
            self._log = open(self.log_path, "wb")
        else:
            import tempfile

            self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=self.env or os.environ.copy())
        self.wait_serving(timeout)
        return self

    def wait_serving(self, timeout: float) -> None:
        """Poll the child's health (over TLS if `probe` says so) until SERVING; CloudStartError if it exits or
        `timeout` s pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise CloudStartError(f"the cloud service exited with code {self.proc.returncode}: {self.log_tail()}")
            status = health_status(self.address, timeout=1.0, cloud=self.probe)
            if status == "SERVING":
                return
            if status.startswith("MISCONFIGURED"):
                raise CloudStartError(f"cannot check the cloud service's health: {status}")
            time.sleep(0.2)
        raise CloudStartError(f"the cloud service was not SERVING after {timeout:g}s: {self.log_tail()}")

    def log_tail(self, lines: int = 8) -> str:
        """The child's last `lines` lines of output, joined with ' | ' ('' once stopped)."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(no output)"

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then wait; SIGKILL if it does not stop in time."""
        if self._previous_handler is not None:
            signal.signal(signal.SIGTERM, self._previous_handler)
            self._previous_handler = None
        if self.proc is None:
            return None
        code = terminate(self.proc, timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def __enter__(self) -> CloudProcess:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _interrupt_on_sigterm():
    """In the main thread with no SIGTERM handler of its own: SIGTERM raises KeyboardInterrupt.

    Without it, `kill <pid>` of a benchmark or `tandem demo` ends the process without
    running `CloudProcess.stop()` (a `with` exit or a `finally`), and the cloud child is left running.
    Python runs the handler in the main thread between bytecodes: a main thread blocked in one
    long C call (a bare time.sleep) notices only when the call returns if the kernel handed the
    signal to another thread (grpc has some); grpc's own blocking calls wake every 0.1 s.
    Returns the handler to restore, or None when nothing was changed.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        return None

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)

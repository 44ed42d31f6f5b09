"""Run the daemon: bind the unix socket (0600), load the models once, serve until SIGTERM.

Start-up order: refuse if another daemon answers on the socket (remove a stale one),
open the store and label answers a previous run left unfinished, start serving
(Status answers "loading" at once), then load the models in the background.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import stat
import sys
import threading
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from edge_agent.config import Config
from edge_agent.daemon.client import DaemonClient, DaemonError
from edge_agent.daemon.files import SOCKET_MODE, pid_path, prepare_dir
from edge_agent.daemon.monitor import CloudMonitor
from edge_agent.daemon.service import DaemonAgent, DaemonState, EdgeLocalServicer
from edge_agent.store import Store
from protos import edge_local_pb2 as pb
from protos import edge_local_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["EdgeLocal"].full_name  # "tandem.local.v1.EdgeLocal"
MAX_WORKERS = 8  # concurrent RPCs (streams hold a worker; generation itself is one at a time)
MAX_SOCKET_PATH = 107  # sun_path is 108 bytes with the terminating NUL


class Daemon:
    """A running daemon in this process: `start()`, then `stop()`."""

    def __init__(self, config: Config, socket_path: Path | None = None) -> None:
        self.config = config
        self.socket_path = socket_path or config.daemon.socket_path()
        self.state: DaemonState | None = None
        self._server: grpc.Server | None = None
        self._health = health.HealthServicer()

    def start(self) -> None:
        self._claim_socket()
        store = Store(self.config.daemon.store_path())
        recovered = store.recover_interrupted()
        if recovered:
            log.info("kept %d answer(s) that a previous run did not finish (marked incomplete)", recovered)
        monitor = CloudMonitor(
            self.config.cloud.address, self.config.daemon.probe_interval_s, self.config.daemon.probe_backoff_max_s,
            cloud=self.config.cloud,
        )
        self.state = DaemonState(self.config, self.socket_path, store, monitor, DaemonAgent(self.config, monitor))
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="rpc"),
                             maximum_concurrent_rpcs=MAX_WORKERS * 2)
        pb_grpc.add_EdgeLocalServicer_to_server(EdgeLocalServicer(self.state), server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        for name in ("", SERVICE_NAME):
            self._health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        old_umask = os.umask(0o177)  # the socket is created 0600 from the start: no window for others
        try:
            if server.add_insecure_port(f"unix:{self.socket_path}") == 0:
                raise DaemonError(f"cannot listen on {self.socket_path}")
            server.start()
        finally:
            os.umask(old_umask)
        os.chmod(self.socket_path, SOCKET_MODE)
        pid_path(self.socket_path).write_text(f"{os.getpid()}\n")
        self._server = server
        monitor.start()
        threading.Thread(target=self._load, name="loader", daemon=True).start()
        log.info("listening on %s (pid %d); loading %s", self.socket_path, os.getpid(), self.config.edge.model)

    def _load(self) -> None:
        assert self.state is not None
        self.state.load()
        if not self.state.error:
            for name in ("", SERVICE_NAME):
                self._health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def _claim_socket(self) -> None:
        path = self.socket_path
        if len(str(path)) > MAX_SOCKET_PATH:
            raise DaemonError(f"the socket path {path} is longer than {MAX_SOCKET_PATH} bytes; "
                              "set a shorter `daemon.socket` in the config")
        prepare_dir(path.parent)
        if path.exists() or path.is_symlink():
            with DaemonClient(path) as client:
                if client.available():
                    raise DaemonError(f"a daemon is already running on {path} (`tandem daemon stop` stops it)")
            if not stat.S_ISSOCK(path.lstat().st_mode):
                raise DaemonError(f"{path} exists and is not a socket; set another `daemon.socket` in the config")
            path.unlink()  # left behind by a daemon that was killed

    def stop(self, grace: float = 5.0) -> None:
        """Refuse new calls, cancel running answers (their text so far is kept), wait, clean up."""
        if self._server is None or self.state is None:
            return
        self._health.enter_graceful_shutdown()
        self.state.cancel_all("the daemon stopped")
        self._server.stop(grace).wait()
        self.state.monitor.stop()
        self.state.agent.close()
        self.state.store.close()
        for path in (self.socket_path, pid_path(self.socket_path)):
            path.unlink(missing_ok=True)
        self._server = None
        log.info("stopped")


MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> None:
    """Have glibc share `arenas` heaps among all threads (it gives up to 8 per core by default).

    The daemon's RPC threads each tokenize, render and copy prompts of thousands of tokens; with a
    heap per thread, what one thread freed stays in its heap. Measured with `tandem bench daemon`
    (8 conversations of 6 turns cached): 1192 MB resident with glibc's default, 1039 MB with 2.
    Call before the threads start; a no-op where the C library is not glibc.
    """
    try:
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, arenas)
    except (OSError, AttributeError):
        pass


def run_foreground(config: Config, socket_path: Path | None = None) -> int:
    """`tandem daemon start --foreground`: serve until SIGTERM or SIGINT (what a service manager runs)."""
    limit_malloc_arenas()
    os.umask(0o077)  # everything the daemon writes (store, logs) is the user's alone
    logging.getLogger("edge_agent.daemon").setLevel(logging.INFO)  # start, ready, cloud state changes, stop
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    daemon = Daemon(config, socket_path)
    daemon.start()
    print(f"tandem daemon: listening on {daemon.socket_path} (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        while not stopping.wait(3600):
            pass
    finally:
        daemon.stop()
    print("tandem daemon: stopped", file=sys.stderr, flush=True)
    return 0

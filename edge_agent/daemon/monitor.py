"""Watch the cloud's gRPC health in the background: connected, offline or degraded.

While connected it checks every `interval_s`; while offline or degraded it retries
with exponential backoff (1 s, 2 s, 4 s, ... up to `backoff_max_s`), so the daemon
notices quickly when the cloud comes back without hammering it while it is away.
The probe is the standard health check with an empty service name: no user data.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from edge_agent.cloud_process import health_status
from edge_agent.config import CloudConfig

log = logging.getLogger(__name__)

CONNECTED, OFFLINE, DEGRADED, UNKNOWN = "connected", "offline", "degraded", "unknown"
FIRST_BACKOFF_S = 1.0
PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class CloudState:
    state: str  # connected | offline | degraded | unknown (not probed yet)
    detail: str = ""


class CloudMonitor:
    """`start()` a probing thread; `state` is the latest verdict; `poke()` probes now."""

    def __init__(
        self,
        address: str,
        interval_s: float = 15.0,
        backoff_max_s: float = 60.0,
        probe: Callable[[str, float], str] | None = None,
        cloud: CloudConfig | None = None,
    ) -> None:
        self.address = address
        self.interval_s = interval_s
        self.backoff_max_s = backoff_max_s
        self._probe = probe or (lambda address, timeout: health_status(address, timeout=timeout, cloud=cloud))
        self._state = CloudState(UNKNOWN, "not checked yet")
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> CloudState:
        return self._state

    def start(self) -> CloudMonitor:
        self._thread = threading.Thread(target=self._run, name="cloud-monitor", daemon=True)
        self._thread.start()
        return self

    def poke(self) -> None:
        """Probe now (e.g. after an answer had to fall back to the edge)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=PROBE_TIMEOUT_S + 1)

    def check(self) -> CloudState:
        """One probe, synchronously; updates and returns the state."""
        status = self._probe(self.address, PROBE_TIMEOUT_S)
        if status == "SERVING":
            new = CloudState(CONNECTED)
        elif status == "UNREACHABLE":
            new = CloudState(OFFLINE, f"no answer from {self.address}")
        else:  # reachable but not serving: loading its model, shutting down, ...
            new = CloudState(DEGRADED, f"the cloud's health is {status}")
        if new.state != self._state.state:
            log.info("cloud %s: %s %s", self.address, new.state, new.detail)
        self._state = new
        return new

    def _run(self) -> None:
        backoff = FIRST_BACKOFF_S
        while not self._stopping.is_set():
            state = self.check()
            if state.state == CONNECTED:
                backoff, wait = FIRST_BACKOFF_S, self.interval_s
            else:
                wait, backoff = backoff, min(backoff * 2, self.backoff_max_s)
                self._state = CloudState(state.state, f"{state.detail}; next attempt in {wait:g}s")
            self._wake.wait(wait)
            self._wake.clear()

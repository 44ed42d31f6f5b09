"""Daemons as real subprocesses on real unix sockets, with SmolLM2 as the edge model (fast)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge_agent.cloud_process import free_port
from edge_agent.daemon.process import DaemonProcess


@dataclass
class DaemonEnv:
    """A user's world for one daemon: its own XDG dirs, socket and store."""

    root: Path
    env: dict[str, str]

    @property
    def socket_path(self) -> Path:
        return self.root / "run" / "tandem" / "daemon.sock"

    @property
    def store_path(self) -> Path:
        return self.root / "data" / "tandem" / "store.sqlite3"

    def process(self) -> DaemonProcess:
        return DaemonProcess(self.socket_path, self.root / "daemon.log", env=self.env)

    def start(self) -> DaemonProcess:
        daemon = self.process().start()
        daemon.wait_ready(timeout=120)
        return daemon


def make_env(root: Path, **overrides: str) -> DaemonEnv:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_") or k == "TANDEM_MODELS_DIR"}
    for sub in ("run", "data", "config"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    env.update(
        XDG_RUNTIME_DIR=str(root / "run"), XDG_DATA_HOME=str(root / "data"), XDG_CONFIG_HOME=str(root / "config"),
        TANDEM_EDGE_MODEL="smollm2-135m", TANDEM_EDGE_N_CTX="2048",
        TANDEM_EDGE_N_THREADS="1",  # SmolLM2 needs no more; robust when the cores are busy
        TANDEM_CLOUD_ADDRESS=f"127.0.0.1:{free_port()}",  # nothing listens there unless a test starts a cloud
        **overrides,
    )
    return DaemonEnv(root, env)


@pytest.fixture
def daemon_env(tmp_path: Path, smol_path: Path) -> DaemonEnv:
    return make_env(tmp_path / "user")

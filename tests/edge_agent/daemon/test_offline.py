"""Cloud down and back: the daemon answers alone and says so, notices the cloud return, uses it again."""

from __future__ import annotations

import time
from pathlib import Path

from edge_agent.cloud_process import CloudProcess
from edge_agent.daemon import DaemonClient
from edge_agent.strategies import AskRequest

from .conftest import DaemonEnv, make_env


def wait_for_cloud(client: DaemonClient, states: set[str], timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = client.status()
        if status["cloud"] in states or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def report_of(client: DaemonClient, request: AskRequest):
    *_, last = client.ask(request)
    return last.report


def test_cloud_down_and_back(tmp_path: Path, smol_path: Path) -> None:
    env: DaemonEnv = make_env(tmp_path / "user", TANDEM_DAEMON_PROBE_INTERVAL_S="0.5",
                              TANDEM_DAEMON_PROBE_BACKOFF_MAX_S="1")
    port = int(env.env["TANDEM_CLOUD_ADDRESS"].rsplit(":", 1)[1])
    request = AskRequest("Say hello to my friend.", strategy="cloud-public", max_tokens=8)
    daemon = env.start()
    try:
        with DaemonClient(env.socket_path) as client:
            assert wait_for_cloud(client, {"offline"})["cloud"] == "offline"
            alone = report_of(client, request)
            assert alone.answered_by == "edge" and "unreachable" in alone.fallback

            cloud = CloudProcess(model=str(smol_path), port=port,
                                 env={**env.env, "TANDEM_SERVER_N_CTX": "2048", "TANDEM_SERVER_N_THREADS": "1"})
            with cloud:
                assert wait_for_cloud(client, {"connected"})["cloud"] == "connected"
                helped = report_of(client, request)
                assert helped.answered_by == "cloud" and not helped.fallback and helped.wire.bytes_down > 0

            status = wait_for_cloud(client, {"offline"})
            assert status["cloud"] == "offline" and "next attempt in" in status["cloud_detail"]
            assert report_of(client, request).fallback  # alone again, and it says so
    finally:
        daemon.stop()

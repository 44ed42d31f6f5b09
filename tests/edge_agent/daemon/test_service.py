"""The local API in process, on a real unix socket: loading vs ready, a model that fails to load."""

from __future__ import annotations

import threading
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from edge_agent.config import load_config
from edge_agent.daemon import DaemonClient, DaemonError
from edge_agent.daemon.monitor import CloudMonitor
from edge_agent.daemon.service import DaemonAgent, DaemonState, EdgeLocalServicer
from edge_agent.store import Store
from edge_agent.strategies import AskRequest
from protos import edge_local_pb2_grpc as pb_grpc


@pytest.fixture
def serve(tmp_path: Path):
    """Serve a DaemonState whose models are not loaded yet; the test decides when to load."""
    servers, states = [], []

    def start(model: str) -> tuple[DaemonState, Path]:
        config = load_config(environ={"TANDEM_EDGE_MODEL": model, "TANDEM_EDGE_N_THREADS": "1",
                                      "TANDEM_EDGE_N_CTX": "2048", "TANDEM_CLOUD_ADDRESS": "127.0.0.1:1"})
        socket_path = tmp_path / "d.sock"
        monitor = CloudMonitor(config.cloud.address)
        state = DaemonState(config, socket_path, Store(tmp_path / "store.sqlite3"), monitor,
                            DaemonAgent(config, monitor))
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        pb_grpc.add_EdgeLocalServicer_to_server(EdgeLocalServicer(state), server)
        server.add_insecure_port(f"unix:{socket_path}")
        server.start()
        servers.append(server)
        states.append(state)
        return state, socket_path

    yield start
    for server in servers:
        server.stop(0)
    for state in states:
        state.agent.close()
        state.store.close()


def test_status_says_loading_and_an_ask_waits_until_ready(serve, smol_path: Path) -> None:
    state, socket_path = serve(str(smol_path))
    client = DaemonClient(socket_path)
    assert client.status()["state"] == "loading"
    answered = []
    asker = threading.Thread(target=lambda: answered.extend(client.ask(AskRequest("Say hi.", max_tokens=4))))
    asker.start()
    asker.join(timeout=0.5)
    assert asker.is_alive() and answered == []  # waiting for the models, not failing
    state.load()
    asker.join(timeout=60)
    assert answered[0].kind == "started" and answered[-1].kind == "report"
    status = client.status()
    assert status["state"] == "ready" and status["load_s"] > 0


def test_a_model_that_cannot_load_is_reported(serve, tmp_path: Path) -> None:
    state, socket_path = serve(str(tmp_path / "missing.gguf"))
    state.load()
    client = DaemonClient(socket_path)
    status = client.status()
    assert status["state"] == "error" and "missing.gguf" in status["error"]
    with pytest.raises(DaemonError, match="cannot load the models"):
        list(client.ask(AskRequest("Say hi.", max_tokens=4)))

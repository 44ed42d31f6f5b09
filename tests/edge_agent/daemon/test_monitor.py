"""The cloud monitor against a real gRPC health service on loopback (no model needed)."""

from __future__ import annotations

from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from edge_agent.cloud_process import free_port
from edge_agent.daemon.monitor import CONNECTED, DEGRADED, OFFLINE, UNKNOWN, CloudMonitor


@pytest.fixture
def health_server():
    port = free_port()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    yield f"127.0.0.1:{port}", servicer, server
    server.stop(0)


def test_states_follow_the_clouds_health(health_server) -> None:
    address, servicer, server = health_server
    monitor = CloudMonitor(address)
    assert monitor.state.state == UNKNOWN
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)  # e.g. still loading its model
    assert monitor.check() == monitor.state
    assert monitor.state.state == DEGRADED and "NOT_SERVING" in monitor.state.detail
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    assert monitor.check().state == CONNECTED
    server.stop(0).wait()
    assert monitor.check().state == OFFLINE


def test_the_background_probe_backs_off_while_offline_and_reconnects() -> None:
    port = free_port()
    monitor = CloudMonitor(f"127.0.0.1:{port}", interval_s=0.2, backoff_max_s=0.5).start()
    try:
        assert _eventually(lambda: monitor.state.state == OFFLINE)
        assert "next attempt in" in monitor.state.detail
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        servicer = health.HealthServicer()  # SERVING by default
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        server.start()
        try:
            monitor.poke()
            assert _eventually(lambda: monitor.state.state == CONNECTED)
        finally:
            server.stop(0)
    finally:
        monitor.stop()


def _eventually(condition, timeout: float = 20.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False

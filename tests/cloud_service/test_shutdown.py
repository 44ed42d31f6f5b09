"""`tandem cloud serve` as a real process: SIGTERM lets the in-flight stream finish, then exits 0."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import grpc

from edge_agent.cloud_process import CloudProcess, health_status
from protos import tandem_pb2 as pb
from protos import tandem_pb2_grpc as pb_grpc


def test_sigterm_finishes_in_flight_stream_then_stops(smol_path: Path) -> None:
    env = dict(os.environ, TANDEM_SERVER_GRACE_S="30", TANDEM_SERVER_N_CTX="1024")
    cloud = CloudProcess(model=str(smol_path), env=env).start()
    try:
        with grpc.insecure_channel(cloud.address) as channel:
            stub = pb_grpc.CloudModelStub(channel)
            stream = stub.Generate(pb.GenerateRequest(prompt="1, 2, 3,", raw=True, max_tokens=64), timeout=60)
            first = next(stream)
            assert first.token_ids
            cloud.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)  # let the signal land
            try:
                stub.Info(pb.InfoRequest(), timeout=5)
                refused = None
            except grpc.RpcError as exc:
                refused = exc.code()
            assert refused == grpc.StatusCode.UNAVAILABLE  # new calls are refused while draining
            rest = list(stream)  # the in-flight call completes within the grace period
            assert rest[-1].completion_tokens == 64
            assert rest[-1].finish_reason == pb.FINISH_REASON_LENGTH
        assert cloud.proc.wait(30) == 0
        assert health_status(cloud.address, timeout=0.5) == "UNREACHABLE"
        assert "stopped" in cloud.log_tail()
    finally:
        cloud.stop()

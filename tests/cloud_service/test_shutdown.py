"""`tandem cloud serve` as a real process under SIGTERM: in-flight calls finish within `grace_s`, new calls get
UNAVAILABLE, health turns NOT_SERVING, what outlasts the grace period is cut, and the process exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

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


def cloud_process(smol_path: Path, grace_s: float) -> CloudProcess:
    """`tandem cloud serve` in a child process, plaintext on loopback whatever the user's config says."""
    env = dict(os.environ, TANDEM_SERVER_GRACE_S=str(grace_s), TANDEM_SERVER_N_CTX="1024", TANDEM_SERVER_N_THREADS="1",
               TANDEM_SERVER_TOKEN_FILE="", TANDEM_SERVER_TLS_CERT_FILE="", TANDEM_SERVER_TLS_KEY_FILE="",
               TANDEM_SERVER_TLS_CLIENT_CA_FILE="")
    return CloudProcess(model=str(smol_path), env=env).start()


async def status_of(call) -> tuple[grpc.StatusCode, str]:
    """A call's final status, whatever kind of call it is."""
    try:
        await call
        return grpc.StatusCode.OK, ""
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details() or ""


async def wait_health(address: str, wanted: str, within: float) -> float | None:
    """Seconds until health reports `wanted` (polled every 20 ms); None if it never does within `within`."""
    started = time.monotonic()
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() - started < within:
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=0.5)
                if health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status) == wanted:
                    return time.monotonic() - started
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.02)
    return None


def test_sigterm_under_load_drains_every_kind_of_call(smol_path: Path) -> None:
    """Generate, Sketch and a Fuse session in flight finish; new calls of every kind are refused."""
    cloud = cloud_process(smol_path, grace_s=20)

    async def scenario() -> None:
        async with grpc.aio.insecure_channel(cloud.address) as channel:
            stub = pb_grpc.CloudModelStub(channel)
            fingerprint = (await stub.Info(pb.InfoRequest(), timeout=10)).vocab_fingerprint
            fuse = stub.Fuse(timeout=60)
            await fuse.write(pb.FuseRequest(open=pb.FuseOpen(vocab_fingerprint=fingerprint, prompt="Count to ten.",
                                                             top_k=5)))
            opened = await fuse.read()
            generate = stub.Generate(pb.GenerateRequest(prompt="1, 2, 3,", raw=True, max_tokens=24), timeout=60)
            assert (await generate.read()).token_ids  # decoding is under way
            sketch = asyncio.ensure_future(stub.Sketch(pb.SketchRequest(instruction="Plan a picnic.", max_tokens=24),
                                                       timeout=60))
            await asyncio.sleep(0.1)  # the Sketch has reached the server
            cloud.proc.send_signal(signal.SIGTERM)
            assert await wait_health(cloud.address, "NOT_SERVING", within=5) is not None

            refused = [await status_of(stub.Info(pb.InfoRequest(), timeout=5)),
                       await status_of(stub.Sketch(pb.SketchRequest(instruction="Plan a party."), timeout=5))]
            late = stub.Generate(pb.GenerateRequest(prompt="hi", max_tokens=2), timeout=5)
            refused.append(await status_of(late.read()))
            late_fuse = stub.Fuse(timeout=5)
            await late_fuse.write(pb.FuseRequest(open=pb.FuseOpen(vocab_fingerprint=fingerprint, prompt="Hi.")))
            refused.append((await late_fuse.code(), await late_fuse.details()))
            for code, details in refused:
                assert code == grpc.StatusCode.UNAVAILABLE and "shutting down" in details, (code, details)

            # what was in flight at the signal goes on: the open session takes a step and closes
            await fuse.write(pb.FuseRequest(step=pb.FuseStep(append=[pb.FuseAppend(ids=[opened.positions[0].ids[0]])])))
            assert (await fuse.read()).session_tokens == opened.session_tokens + 1
            await fuse.done_writing()
            assert await fuse.code() == grpc.StatusCode.OK
            last = chunk = await generate.read()
            while chunk is not grpc.aio.EOF:
                last, chunk = chunk, await generate.read()
            assert last.completion_tokens == 24 and await generate.code() == grpc.StatusCode.OK
            assert (await sketch).completion_tokens >= 1

    try:
        asyncio.run(scenario())
        assert cloud.proc.wait(30) == 0
    finally:
        cloud.stop()


def test_sigterm_cuts_what_outlasts_the_grace_period(smol_path: Path) -> None:
    """A call that cannot finish within grace_s is ended at grace_s, and the process still exits 0."""
    grace_s = 1.0
    cloud = cloud_process(smol_path, grace_s)

    async def scenario() -> tuple[grpc.StatusCode, float]:
        async with grpc.aio.insecure_channel(cloud.address) as channel:
            # far more tokens than one thread decodes in a second (SmolLM2-135M: 30-100/s here)
            stream = pb_grpc.CloudModelStub(channel).Generate(
                pb.GenerateRequest(prompt="1, 2, 3,", raw=True, max_tokens=1000), timeout=60)
            await stream.read()
            cloud.proc.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            code = grpc.StatusCode.OK
            try:
                while await stream.read() is not grpc.aio.EOF:  # the client keeps reading, as a client would
                    pass
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
            return code, time.monotonic() - signalled

    try:
        code, ended_after = asyncio.run(scenario())
        assert code == grpc.StatusCode.UNAVAILABLE  # the edge retries elsewhere
        assert grace_s - 0.2 <= ended_after <= grace_s + 3, ended_after
        assert cloud.proc.wait(15) == 0
    finally:
        cloud.stop()

"""The cloud gRPC service on a real loopback port with a real model (SmolLM2-135M, the fastest).

Every behaviour test runs twice: with the embedded llama.cpp backend and with the
`openai` backend in front of a real llama_cpp.server (tests/cloud_service/conftest.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cloud_service.server import CloudServer, start_server
from cloud_service.settings import ServerConfig
from protos import tandem_pb2 as pb
from protos import tandem_pb2_grpc as pb_grpc
from tests.cloud_service.conftest import UPSTREAM_ALIAS, serving

N_CTX = 512
LIMIT = 128


@pytest.fixture(scope="module", params=["llama.cpp", "openai"])
async def cloud(request: pytest.FixtureRequest, smol_path: Path):
    upstream = request.getfixturevalue("upstream_url") if request.param == "openai" else ""
    async with serving(ServerConfig(port=0, model=str(smol_path), n_ctx=N_CTX, max_tokens_limit=LIMIT, n_threads=1,
                                    backend=request.param, upstream_url=upstream)) as server:
        yield server


@pytest.fixture(scope="module")
async def stub(cloud: CloudServer):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{cloud.port}") as channel:
        yield pb_grpc.CloudModelStub(channel)


async def collect(stub, request: pb.GenerateRequest, timeout: float = 60) -> list[pb.GenerateChunk]:
    return [chunk async for chunk in stub.Generate(request, timeout=timeout)]


async def test_info_describes_the_model(cloud: CloudServer, stub) -> None:
    info = await stub.Info(pb.InfoRequest())
    assert info.model_id == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert info.n_vocab == 49152 and info.n_ctx == N_CTX and info.max_tokens_limit == LIMIT
    assert len(info.vocab_fingerprint) == 64 and set(info.vocab_fingerprint) <= set("0123456789abcdef")
    assert {"generate", "sketch", "fuse"} <= set(info.capabilities)
    assert info.backend == cloud.servicer.backend.name


async def test_info_without_a_vocabulary_has_no_fuse(upstream_url: str) -> None:
    config = ServerConfig(port=0, model="", backend="openai", upstream_url=upstream_url)
    async with serving(config) as server, grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        info = await pb_grpc.CloudModelStub(channel).Info(pb.InfoRequest())
        chunks = [c async for c in pb_grpc.CloudModelStub(channel).Generate(
            pb.GenerateRequest(prompt="Say hi.", max_tokens=3), timeout=60)]
    assert info.backend == "openai" and info.model_id == UPSTREAM_ALIAS  # from the upstream's /v1/models
    assert set(info.capabilities) == {"generate", "sketch"} and info.vocab_fingerprint == ""
    assert chunks[-1].completion_tokens >= 1 and "".join(c.text for c in chunks)


async def test_generate_streams_text_and_finishes(cloud: CloudServer, stub) -> None:
    chunks = await collect(stub, pb.GenerateRequest(prompt="Name three colors.", max_tokens=24))
    text = "".join(c.text for c in chunks)
    assert len(chunks) > 2 and text.strip()
    last = chunks[-1]
    assert last.finish_reason in (pb.FINISH_REASON_STOP, pb.FINISH_REASON_LENGTH)
    assert 1 <= last.completion_tokens <= 24 and last.prompt_tokens > 5
    if cloud.servicer.backend.name == "llama.cpp":  # an HTTP upstream streams text, not token ids
        assert sum(len(c.token_ids) for c in chunks) == last.completion_tokens


async def test_max_tokens_is_honoured_with_length_finish(stub) -> None:
    chunks = await collect(stub, pb.GenerateRequest(prompt="Count from one to one hundred in words.", max_tokens=5))
    assert chunks[-1].finish_reason == pb.FINISH_REASON_LENGTH and chunks[-1].completion_tokens == 5


async def test_raw_prompt_and_stop_string(stub) -> None:
    chunks = await collect(stub, pb.GenerateRequest(prompt="1, 2, 3, 4,", raw=True, max_tokens=30, stop=["7"]))
    text = "".join(c.text for c in chunks)
    assert "7" not in text and chunks[-1].finish_reason == pb.FINISH_REASON_STOP


async def test_sketch_returns_points(stub) -> None:
    reply = await stub.Sketch(pb.SketchRequest(instruction="Write a note to [PERSON_1] about a picnic.", max_tokens=80))
    assert reply.text and 1 <= len(reply.points) <= 15 and reply.completion_tokens <= 80


@pytest.mark.parametrize(
    "request_, message",
    [
        (pb.GenerateRequest(prompt="", max_tokens=5), "prompt is empty"),
        (pb.GenerateRequest(prompt="   \n", max_tokens=5), "prompt is empty"),
        (pb.GenerateRequest(prompt="hi", max_tokens=0), "max_tokens must be between 1 and 128, got 0"),
        (pb.GenerateRequest(prompt="hi", max_tokens=LIMIT + 1), f"max_tokens must be between 1 and 128, got {LIMIT + 1}"),
        (pb.GenerateRequest(prompt="hi", max_tokens=5, temperature=3), "temperature must be between 0 and 2"),
        (pb.GenerateRequest(prompt="hi " * 2000, max_tokens=5), "but the model's context holds 512"),
        (pb.GenerateRequest(prompt="hi", max_tokens=5, stop=[""]), "each stop string"),
    ],
)
async def test_bad_generate_requests_are_invalid_argument(stub, request_, message: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await collect(stub, request_)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in err.value.details()


async def test_bad_sketch_request_is_invalid_argument(stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Sketch(pb.SketchRequest(instruction=""))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "instruction is empty" in err.value.details()


async def test_non_utf8_prompt_is_invalid_argument(cloud: CloudServer) -> None:
    # A non-Python client can put any bytes in a string field; send them raw.
    bad = b"\x0a\x03\xff\xfe\x41" + b"\x20\x05"  # field 1 (prompt) = 3 invalid bytes; max_tokens = 5
    async with grpc.aio.insecure_channel(f"127.0.0.1:{cloud.port}") as channel:
        call = channel.unary_stream("/tandem.v1.CloudModel/Generate", request_serializer=None,
                                    response_deserializer=pb.GenerateChunk.FromString)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for _ in call(bad):
                pass
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "UTF-8" in err.value.details() and "tandem.v1.GenerateRequest" in err.value.details()


async def test_client_cancel_stops_generation(cloud: CloudServer, stub) -> None:
    stats = cloud.servicer.backend.stats
    cancelled_before = stats.streams_cancelled
    call = stub.Generate(pb.GenerateRequest(prompt="Write a very long story about a dragon.", max_tokens=LIMIT))
    received = 0
    async for _chunk in call:
        received += 1
        if received == 3:
            break
    call.cancel()
    for _ in range(100):  # the server notices at the next token
        if stats.streams_cancelled > cancelled_before:
            break
        await asyncio.sleep(0.05)
    assert stats.streams_cancelled == cancelled_before + 1
    tokens_after_cancel = stats.tokens_generated
    await asyncio.sleep(0.5)
    assert stats.tokens_generated == tokens_after_cancel  # nothing more is generated for it
    # and the model is free for the next caller
    chunks = await collect(stub, pb.GenerateRequest(prompt="Say hi.", max_tokens=4))
    assert chunks[-1].completion_tokens >= 1


@pytest.mark.parametrize("method", ["Generate", "Sketch"])
async def test_deadline_is_honoured(cloud: CloudServer, stub, method: str) -> None:
    stats = cloud.servicer.backend.stats
    cancelled_before = stats.streams_cancelled
    with pytest.raises(grpc.aio.AioRpcError) as err:
        if method == "Generate":
            await collect(stub, pb.GenerateRequest(prompt="Write a long essay about rivers.", max_tokens=LIMIT),
                          timeout=0.3)
        else:
            await stub.Sketch(pb.SketchRequest(instruction="Write a long essay about rivers.", max_tokens=LIMIT),
                              timeout=0.3)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    for _ in range(100):
        if stats.streams_cancelled > cancelled_before:
            break
        await asyncio.sleep(0.05)
    assert stats.streams_cancelled == cancelled_before + 1
    # and the model is free for the next caller at once
    chunks = await collect(stub, pb.GenerateRequest(prompt="Say hi.", max_tokens=4), timeout=30)
    assert chunks[-1].completion_tokens >= 1


async def test_health_and_unavailable_while_loading(smol_path: Path) -> None:
    server = await start_server(ServerConfig(port=0, model=str(smol_path), n_ctx=N_CTX))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            check = await health.Check(health_pb2.HealthCheckRequest(service="tandem.v1.CloudModel"))
            assert check.status == health_pb2.HealthCheckResponse.NOT_SERVING
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await pb_grpc.CloudModelStub(channel).Info(pb.InfoRequest())
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE and "loading" in err.value.details()
            await server.load_model()
            check = await health.Check(health_pb2.HealthCheckRequest(service=""))
            assert check.status == health_pb2.HealthCheckResponse.SERVING
            await server.health.enter_graceful_shutdown()
            check = await health.Check(health_pb2.HealthCheckRequest(service=""))
            assert check.status == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        await server.stop(0)


async def test_reflection_lists_the_services(cloud: CloudServer) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    async with grpc.aio.insecure_channel(f"127.0.0.1:{cloud.port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = [s.name async for r in responses for s in r.list_services_response.service]
    assert "tandem.v1.CloudModel" in names and "grpc.health.v1.Health" in names

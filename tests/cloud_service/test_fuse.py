"""The Fuse RPC on a real server and model (SmolLM2-135M): sessions, state, and bad input.

Each test runs with the embedded llama.cpp backend and with the `openai` backend in
front of a real llama_cpp.server (drafts scored with `echo` + `logprobs`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from cloud_service.server import CloudServer
from cloud_service.settings import ServerConfig
from protos import tandem_pb2 as pb
from protos import tandem_pb2_grpc as pb_grpc
from tests.cloud_service.conftest import serving


@pytest.fixture(scope="module", params=["llama.cpp", "openai"])
async def cloud(request: pytest.FixtureRequest, smol_path: Path):
    upstream = request.getfixturevalue("upstream_url") if request.param == "openai" else ""
    async with serving(ServerConfig(port=0, model=str(smol_path), n_ctx=512, n_threads=1, max_sessions=2,
                                    session_idle_s=60.0, backend=request.param, upstream_url=upstream)) as server:
        yield server


@pytest.fixture(scope="module")
async def stub(cloud: CloudServer):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{cloud.port}") as channel:
        yield pb_grpc.CloudModelStub(channel)


def opening(cloud: CloudServer, prompt: str = "Count to ten.", top_k: int = 5) -> pb.FuseRequest:
    return pb.FuseRequest(open=pb.FuseOpen(vocab_fingerprint=cloud.servicer.backend.info.vocab_fingerprint,
                                           prompt=prompt, top_k=top_k))


def step(keep: int = 0, ids: tuple[int, ...] = (), text: str = "", drafts: tuple[int, ...] = ()) -> pb.FuseRequest:
    appends = ([pb.FuseAppend(ids=list(ids))] if ids else []) + ([pb.FuseAppend(text=text)] if text else [])
    return pb.FuseRequest(step=pb.FuseStep(keep=keep, append=appends, draft_ids=list(drafts)))


class Session:
    """Drive one Fuse stream a message at a time."""

    def __init__(self, stub, timeout: float | None = None) -> None:
        self.call = stub.Fuse(timeout=timeout)

    async def send(self, request: pb.FuseRequest) -> pb.FuseResponse:
        await self.call.write(request)
        return await self.call.read()

    async def close(self) -> None:
        """End the stream and wait until the server has finished it (and freed the session)."""
        await self.call.done_writing()
        assert await self.call.code() == grpc.StatusCode.OK


async def greedy(session: Session, first: pb.FuseResponse, n: int) -> list[int]:
    """n greedy tokens, one round trip each, taking the cloud's top choice."""
    tokens, response = [], first
    for _ in range(n):
        token = response.positions[0].ids[0]
        tokens.append(token)
        response = await session.send(step(ids=(token,)))
    return tokens


async def test_open_returns_one_sorted_top_k(cloud: CloudServer, stub) -> None:
    session = Session(stub)
    response = await session.send(opening(cloud))
    (row,) = response.positions
    assert len(row.ids) == 5 and list(row.logprobs) == sorted(row.logprobs, reverse=True)
    assert row.logprobs[0] <= 0 and response.session_tokens > 5
    await session.close()


async def test_drafts_are_scored_and_keep_truncates(cloud: CloudServer, stub) -> None:
    session = Session(stub)
    first = await session.send(opening(cloud))
    reference = await greedy(session, first, 4)  # step by step
    await session.close()

    session = Session(stub)
    first = await session.send(opening(cloud))
    scored = await session.send(step(drafts=tuple(reference)))
    assert len(scored.positions) == len(reference) + 1
    # the draft positions agree with step-by-step decoding
    assert [row.ids[0] for row in scored.positions[:-1]] == reference
    kept = await session.send(step(keep=2, ids=(reference[2],)))
    assert kept.session_tokens == first.session_tokens + 3
    await session.close()


async def test_interleaved_sessions_do_not_mix(cloud: CloudServer, stub) -> None:
    alone = Session(stub)
    expected = await greedy(alone, await alone.send(opening(cloud, "Name the planets.")), 6)
    await alone.close()

    a, b = Session(stub), Session(stub)
    response_a = await a.send(opening(cloud, "Name the planets."))
    response_b = await b.send(opening(cloud, "Write a haiku about rain."))
    tokens_a = []
    for _ in range(6):  # alternate: every step of a follows a step of b on the same model
        token = response_a.positions[0].ids[0]
        tokens_a.append(token)
        response_a = await a.send(step(ids=(token,)))
        response_b = await b.send(step(ids=(response_b.positions[0].ids[0],)))
    await a.close()
    await b.close()
    assert tokens_a == expected
    if cloud.servicer.backend.name == "llama.cpp":  # one context: the sessions took turns in it
        assert cloud.servicer.backend.engine.switches > 0


async def test_closing_frees_the_session(cloud: CloudServer, stub) -> None:
    session = Session(stub)
    await session.send(opening(cloud))
    assert len(cloud.servicer.backend.sessions.sessions) == 1
    await session.close()
    assert cloud.servicer.backend.sessions.sessions == {}


async def wait_until_closed(cloud: CloudServer) -> None:
    """The server notices a vanished client on its own; give it a moment."""
    for _ in range(100):
        if not cloud.servicer.backend.sessions.sessions:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"sessions still open: {list(cloud.servicer.backend.sessions.sessions)}")


async def test_sessions_of_vanished_clients_are_freed(cloud: CloudServer, stub) -> None:
    # Clients gone mid-session (cancelled, no done_writing) fill every slot; a whole new batch must open.
    backend = cloud.servicer.backend
    for _ in range(backend.sessions.max_sessions):
        session = Session(stub)
        row = (await session.send(opening(cloud))).positions[0]
        await session.send(step(ids=(row.ids[0],), drafts=tuple(row.ids[1:3])))
        session.call.cancel()
    await wait_until_closed(cloud)
    if backend.name == "llama.cpp":
        assert backend.engine.resident is None  # no dropped session's KV cache is kept
    batch = [Session(stub) for _ in range(backend.sessions.max_sessions)]
    for session in batch:
        assert (await session.send(opening(cloud))).positions
    for session in batch:
        await session.close()


async def test_a_deadline_ends_a_stepping_session(cloud: CloudServer, stub) -> None:
    # A session that steps on past its deadline ends DEADLINE_EXCEEDED, its slot freed, the model free.
    session = Session(stub, timeout=0.5)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        response = await session.send(opening(cloud, "Write a long story about a dragon."))
        for _ in range(500):  # bounded: ~10 s of steps at the slowest
            row = response.positions[0]
            response = await session.send(step(ids=(row.ids[0],), drafts=tuple(row.ids[1:4])))
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await wait_until_closed(cloud)
    after = Session(stub)
    assert (await after.send(opening(cloud))).positions
    await after.close()


async def expect_status(call_messages, stub, code: grpc.StatusCode, fragment: str) -> None:
    session = Session(stub)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        for message in call_messages:
            await session.send(message)
    assert err.value.code() == code and fragment in err.value.details()


async def test_vocabulary_mismatch_is_failed_precondition(cloud: CloudServer, stub) -> None:
    bad = pb.FuseRequest(open=pb.FuseOpen(vocab_fingerprint="0" * 64, prompt="hi"))
    await expect_status([bad], stub, grpc.StatusCode.FAILED_PRECONDITION, "vocabulary mismatch")


@pytest.mark.parametrize(
    "messages, fragment",
    [
        (lambda c: [step(ids=(1,))], "the first FuseRequest must carry `open`"),
        (lambda c: [opening(c, prompt="  ")], "prompt is empty"),
        (lambda c: [opening(c, top_k=500)], "top_k must be between 1 and 100"),
        (lambda c: [opening(c), opening(c)], "must carry `step` only"),
        (lambda c: [opening(c), step(ids=(10**6,))], "outside the vocabulary"),
        (lambda c: [opening(c), step(keep=3)], "keep=3 but only 0 draft token(s)"),
        (lambda c: [opening(c), step(drafts=tuple(range(1, 40)))], "at most 32 draft tokens"),
        (lambda c: [opening(c), step(text="word " * 600)], "the context holds 512"),
    ],
)
async def test_bad_fuse_requests_are_invalid_argument(cloud: CloudServer, stub, messages, fragment: str) -> None:
    await expect_status(messages(cloud), stub, grpc.StatusCode.INVALID_ARGUMENT, fragment)


async def test_too_many_sessions_is_resource_exhausted(cloud: CloudServer, stub) -> None:
    a, b = Session(stub), Session(stub)
    await a.send(opening(cloud))
    await b.send(opening(cloud))
    await expect_status([opening(cloud)], stub, grpc.StatusCode.RESOURCE_EXHAUSTED, "fuse sessions are in use")
    await a.close()
    await b.close()


async def test_idle_session_expires(smol_path: Path) -> None:
    async with serving(ServerConfig(port=0, model=str(smol_path), n_ctx=256, n_threads=1,
                                    session_idle_s=0.5)) as server:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            session = Session(pb_grpc.CloudModelStub(channel))
            await session.send(opening(server))
            await asyncio.sleep(1.0)  # the server ends the stream on its own
            assert await session.call.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert "expired after 0.5s" in await session.call.details()
        assert server.servicer.backend.sessions.sessions == {}

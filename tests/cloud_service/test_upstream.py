"""The `openai` backend's failures, each against a real llama_cpp.server (or a closed port).

The behaviour tests shared with the embedded backend are in test_server.py and
test_fuse.py; here: an upstream that is down, slow, refuses the key, or rejects
the request, and what the edge sees for each.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from cloud_service.server import start_server
from cloud_service.settings import ServerConfig
from edge_agent.cloud_process import free_port, terminate
from protos import tandem_pb2 as pb
from protos import tandem_pb2_grpc as pb_grpc
from tests.cloud_service.conftest import serving, start_upstream


async def call(config: ServerConfig, method: str, request, timeout: float = 60):
    """Start a cloud with `config`, make one call, stop it; the error if the call failed."""
    async with serving(config) as server, grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = pb_grpc.CloudModelStub(channel)
        try:
            if method == "Generate":
                return [c async for c in stub.Generate(request, timeout=timeout)]
            if method == "Fuse":
                fuse = stub.Fuse(timeout=timeout)
                await fuse.write(request)
                return await fuse.read()
            return await getattr(stub, method)(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            return exc


def upstream_config(smol_path: Path, url: str, **overrides) -> ServerConfig:
    return ServerConfig(port=0, model=str(smol_path), n_ctx=512, backend="openai", upstream_url=url, **overrides)


def fuse_open(fingerprint: str) -> pb.FuseRequest:
    return pb.FuseRequest(open=pb.FuseOpen(vocab_fingerprint=fingerprint, prompt="Count to ten.", top_k=5))


@pytest.fixture(scope="module")
def fingerprint(smol_path: Path) -> str:
    from runtime.llm import load_vocab, vocab_fingerprint

    return vocab_fingerprint(load_vocab(smol_path))


@pytest.mark.parametrize("method", ["Generate", "Sketch", "Fuse"])
async def test_upstream_down_is_unavailable(smol_path: Path, fingerprint: str, method: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"
    request = {"Generate": pb.GenerateRequest(prompt="hi", max_tokens=3),
               "Sketch": pb.SketchRequest(instruction="Plan a picnic."),
               "Fuse": fuse_open(fingerprint)}[method]
    error = await call(upstream_config(smol_path, closed), method, request)
    assert isinstance(error, grpc.aio.AioRpcError), error
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert f"the upstream at {closed} is unreachable" in error.details()


async def test_info_works_while_the_upstream_is_down(smol_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"
    info = await call(upstream_config(smol_path, closed), "Info", pb.InfoRequest())
    assert info.backend == "openai" and info.model_id == "(upstream unreachable)" and info.n_vocab == 49152


@pytest.mark.parametrize("method", ["Generate", "Sketch", "Fuse"])
async def test_slow_upstream_is_deadline_exceeded(smol_path: Path, upstream_url: str, fingerprint: str,
                                                  method: str) -> None:
    # No upstream evaluates a prompt in a millisecond: every read times out.
    request = {"Generate": pb.GenerateRequest(prompt="Write a story.", max_tokens=20),
               "Sketch": pb.SketchRequest(instruction="Plan a picnic.", max_tokens=20),
               "Fuse": fuse_open(fingerprint)}[method]
    error = await call(upstream_config(smol_path, upstream_url, upstream_timeout_s=0.001), method, request)
    assert isinstance(error, grpc.aio.AioRpcError), error
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED and "did not answer in time" in error.details()


async def test_upstream_rejection_is_invalid_argument(smol_path: Path, upstream_url: str, fingerprint: str) -> None:
    # Our context (4096) admits the prompt; the upstream's (1024) does not: it answers HTTP 400.
    config = upstream_config(smol_path, upstream_url)
    config.n_ctx = 4096
    long_open = pb.FuseRequest(open=pb.FuseOpen(vocab_fingerprint=fingerprint, prompt="word " * 1500, top_k=5))
    error = await call(config, "Fuse", long_open)
    assert isinstance(error, grpc.aio.AioRpcError), error
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "answered HTTP 400" in error.details()
    assert "maximum context length is 1024" in error.details()  # the upstream's own words
    # A streamed call: this server answers 200 and then closes the stream without a word.
    error = await call(config, "Generate", pb.GenerateRequest(prompt="word " * 1500, max_tokens=5))
    assert isinstance(error, grpc.aio.AioRpcError), error
    assert error.code() == grpc.StatusCode.UNAVAILABLE and "ended the stream without finishing" in error.details()


async def test_echo_scoring_on_a_text_only_server_says_what_to_set(smol_path: Path, upstream_url: str,
                                                                     fingerprint: str) -> None:
    # llama-cpp-python's server takes text prompts only, so token-id echo scoring is refused.
    error = await call(upstream_config(smol_path, upstream_url, upstream_scoring="echo"), "Fuse", fuse_open(fingerprint))
    assert isinstance(error, grpc.aio.AioRpcError), error
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert 'set server.upstream_scoring = "single"' in error.details()


async def test_upstream_api_key(smol_path: Path, tmp_path: Path) -> None:
    proc, url = start_upstream(smol_path, tmp_path / "keyed.log", n_ctx=512, api_key="s3cret-key")
    try:
        key_file = tmp_path / "key"
        key_file.write_text("s3cret-key\n")
        request = pb.GenerateRequest(prompt="Say hi.", max_tokens=3)
        chunks = await call(upstream_config(smol_path, url, upstream_model="m", upstream_api_key_file=str(key_file)),
                            "Generate", request)
        assert not isinstance(chunks, Exception) and chunks[-1].completion_tokens >= 1
        key_file.write_text("wrong\n")
        error = await call(upstream_config(smol_path, url, upstream_model="m", upstream_api_key_file=str(key_file)),
                           "Generate", request)
        assert isinstance(error, grpc.aio.AioRpcError), error
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "answered HTTP 401" in error.details()
    finally:
        terminate(proc, 10)


async def test_unreadable_api_key_file_names_the_key(smol_path: Path, tmp_path: Path) -> None:
    from edge_agent.config import ConfigError

    with pytest.raises(ConfigError, match="'server.upstream_api_key_file': cannot read"):
        await start_server(upstream_config(smol_path, "http://127.0.0.1:1/v1",
                                           upstream_api_key_file=str(tmp_path / "missing")))


async def test_fuse_scores_a_position_where_the_turn_ends(smol_path: Path, upstream_url: str, fingerprint: str) -> None:
    # An upstream that samples end-of-turn returns no token and no log-probabilities; the
    # backend forbids sampling it so the distribution (end of turn included) still comes back.
    from runtime.llm import load_vocab

    eos = load_vocab(smol_path).token_eos()
    config = upstream_config(smol_path, upstream_url)
    async with serving(config) as server, grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        fuse = pb_grpc.CloudModelStub(channel).Fuse(timeout=60)
        await fuse.write(pb.FuseRequest(open=pb.FuseOpen(vocab_fingerprint=fingerprint, prompt="Say OK.", top_k=5)))
        await fuse.read()
        await fuse.write(pb.FuseRequest(step=pb.FuseStep(append=[pb.FuseAppend(text="OK.")])))
        response = await fuse.read()
        await fuse.done_writing()
        assert await fuse.code() == grpc.StatusCode.OK
    (row,) = response.positions
    assert eos in row.ids and row.ids[0] == eos  # the model would end its turn here

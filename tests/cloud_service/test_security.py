"""Bearer tokens, TLS and mTLS, limits, metrics and log hygiene on a real server (SmolLM2-135M).

Throw-away certificates are made with `cryptography`; one server per configuration.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from cloud_service.auth import INVALID, MISSING
from cloud_service.server import CloudServer, start_server
from cloud_service.settings import ServerConfig
from edge_agent.cloud_client import CloudClient, CloudError
from edge_agent.cloud_process import CloudProcess, CloudStartError, free_port, health_status
from edge_agent.config import CloudConfig, ConfigError
from edge_agent.privacy import AuditLog, PrivacyGuard
from protos import tandem_pb2 as pb
from protos import tandem_pb2_grpc as pb_grpc
from tests.cloud_service.conftest import serving

TOKEN = "tok-2f9c1e77a0b4"
OTHER_TOKEN = "tok-second-allowed"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
CANARY = "zebra-quokka-7731"  # user text that must never reach the cloud's logs


# -- certificates -------------------------------------------------------------------------


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    def ca_bytes(self) -> bytes:
        return self.ca.read_bytes()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(subject: str, key, issuer: str, issuer_key, *, ca: bool = False, san=None, usage=None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject)).issuer_name(_name(issuer))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate | None = None, key=None) -> Path:
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _issue("tandem test CA", ca_key, "tandem test CA", ca_key, ca=True)
    server = _issue("tandem cloud", server_key, "tandem test CA", ca_key,
                    san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")],
                    usage=ExtendedKeyUsageOID.SERVER_AUTH)
    client = _issue("tandem edge", client_key, "tandem test CA", ca_key, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return Pki(_write(d / "ca.pem", ca), _write(d / "server.pem", server), _write(d / "server.key", key=server_key),
               _write(d / "client.pem", client), _write(d / "client.key", key=client_key))


@pytest.fixture(scope="module")
def token_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tokens") / "tokens.txt"
    path.write_text(f"# edges allowed to call\n\n{OTHER_TOKEN}\n  {TOKEN}  \n")
    return path


def settings(smol_path: Path, **overrides) -> ServerConfig:
    return ServerConfig(port=0, model=str(smol_path), n_ctx=512, n_threads=1, max_tokens_limit=16, **overrides)


# -- servers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def guarded(smol_path: Path, token_file: Path):
    """Plaintext, token required, tight limits, metrics on."""
    async with serving(settings(smol_path, token_file=str(token_file), max_prompt_chars=200,
                                max_message_bytes=4096, max_concurrent_rpcs=2, metrics_port=free_port())) as server:
        yield server


@pytest.fixture(scope="module")
async def stub(guarded: CloudServer):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{guarded.port}") as channel:
        yield pb_grpc.CloudModelStub(channel)


@pytest.fixture(scope="module")
async def tls_server(smol_path: Path, pki: Pki):
    async with serving(settings(smol_path, tls_cert_file=str(pki.server_cert),
                                tls_key_file=str(pki.server_key))) as server:
        yield server


@pytest.fixture(scope="module")
async def mtls_server(smol_path: Path, pki: Pki, token_file: Path):
    async with serving(settings(smol_path, tls_cert_file=str(pki.server_cert), tls_key_file=str(pki.server_key),
                                tls_client_ca_file=str(pki.ca), token_file=str(token_file))) as server:
        yield server


def fuse_open(cloud: CloudServer, prompt: str = "Count to ten.", system: str = "") -> pb.FuseRequest:
    return pb.FuseRequest(open=pb.FuseOpen(vocab_fingerprint=cloud.servicer.backend.info.vocab_fingerprint,
                                           prompt=prompt, system=system, top_k=3))


async def status_of(call) -> tuple[grpc.StatusCode, str]:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details()
    return grpc.StatusCode.OK, ""


async def generate_status(stub, request: pb.GenerateRequest, metadata=AUTH) -> tuple[grpc.StatusCode, str]:
    try:
        async for _ in stub.Generate(request, metadata=metadata, timeout=30):
            pass
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details()
    return grpc.StatusCode.OK, ""


# -- bearer tokens ------------------------------------------------------------------------


async def test_a_call_without_a_token_is_unauthenticated(stub) -> None:
    assert await status_of(stub.Info(pb.InfoRequest(), timeout=10)) == (grpc.StatusCode.UNAUTHENTICATED, MISSING)
    code, details = await generate_status(stub, pb.GenerateRequest(prompt="hi", max_tokens=2), metadata=())
    assert (code, details) == (grpc.StatusCode.UNAUTHENTICATED, MISSING)


@pytest.mark.parametrize("value", [f"Bearer {TOKEN}x", "Bearer tok", f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}"])
async def test_a_wrong_token_is_unauthenticated(stub, value: str) -> None:
    code, details = await status_of(stub.Info(pb.InfoRequest(), metadata=(("authorization", value),), timeout=10))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert details == (MISSING if value.startswith("Basic") else INVALID)


async def test_every_allowed_token_works(stub) -> None:
    for token in (TOKEN, OTHER_TOKEN):
        info = await stub.Info(pb.InfoRequest(), metadata=(("authorization", f"bearer {token}"),), timeout=10)
        assert info.model_id == "SmolLM2-135M-Instruct.Q4_1.gguf"
    chunks = [c async for c in stub.Generate(pb.GenerateRequest(prompt="Say hi.", max_tokens=2), metadata=AUTH)]
    assert chunks[-1].completion_tokens == 2


async def test_fuse_needs_the_token_too(guarded: CloudServer, stub) -> None:
    call = stub.Fuse(timeout=10)
    await call.write(fuse_open(guarded))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call.read()
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_health_and_reflection_need_no_token(guarded: CloudServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{guarded.port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(timeout=10)
        await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
        answer = await call.read()
        await call.done_writing()
    assert "tandem.v1.CloudModel" in {s.name for s in answer.list_services_response.service}


@pytest.mark.parametrize("content, message", [
    (None, "'server.token_file': cannot read"),
    ("# only a comment\n\n", "holds no token"),
])
async def test_a_bad_token_file_stops_the_start(smol_path: Path, tmp_path: Path, content, message: str) -> None:
    path = tmp_path / "tokens.txt"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        await start_server(settings(smol_path, token_file=str(path)))
    assert str(path) in str(caught.value)


async def test_unreadable_tls_files_name_the_key(smol_path: Path, tmp_path: Path, pki: Pki) -> None:
    with pytest.raises(ConfigError, match="'server.tls_cert_file': cannot read .*missing.pem"):
        await start_server(settings(smol_path, tls_cert_file=str(tmp_path / "missing.pem"),
                                    tls_key_file=str(pki.server_key)))
    (tmp_path / "ca.txt").write_text("not a certificate")
    with pytest.raises(ConfigError, match="'server.tls_client_ca_file': .* is not a PEM file"):
        await start_server(settings(smol_path, tls_cert_file=str(pki.server_cert), tls_key_file=str(pki.server_key),
                                    tls_client_ca_file=str(tmp_path / "ca.txt")))


# -- TLS and mTLS -------------------------------------------------------------------------


async def test_tls_client_with_the_ca_is_served(tls_server: CloudServer, pki: Pki) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=pki.ca_bytes())
    async with grpc.aio.secure_channel(f"127.0.0.1:{tls_server.port}", credentials) as channel:
        info = await pb_grpc.CloudModelStub(channel).Info(pb.InfoRequest(), timeout=10)
    assert info.n_vocab == 49152
    # the edge's own channel, by name (server_name) and by IP address
    for cloud in (CloudConfig(ca_file=str(pki.ca), server_name="localhost"), CloudConfig(ca_file=str(pki.ca))):
        assert await asyncio.to_thread(health_status, f"127.0.0.1:{tls_server.port}", 5.0, "", cloud) == "SERVING"


def test_a_tls_cloud_process_is_seen_serving_through_the_edge_tls_settings(smol_path: Path, pki: Pki,
                                                                          tmp_path: Path) -> None:
    """`tandem demo` with a TLS [server]: the start probe speaks TLS, so it returns once serving (not after 180 s)."""
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nmodel = "{smol_path}"\nn_ctx = 512\nn_threads = 1\n'
                      f'tls_cert_file = "{pki.server_cert}"\ntls_key_file = "{pki.server_key}"\n')
    with CloudProcess(config=config, probe=CloudConfig(ca_file=str(pki.ca))) as cloud:
        started = time.monotonic()
        cloud.wait_serving(timeout=5.0)
        assert time.monotonic() - started < 5.0
        assert health_status(cloud.address, 1.0) == "UNREACHABLE"  # plaintext is refused, as before
    untrusting = CloudProcess(config=config, probe=CloudConfig(ca_file=str(tmp_path / "missing.pem")))
    with pytest.raises(CloudStartError, match="cannot check the cloud service's health: MISCONFIGURED"):
        with untrusting:
            pass


async def test_plaintext_or_untrusting_clients_are_refused_by_tls(tls_server: CloudServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{tls_server.port}") as channel:
        code, _ = await status_of(pb_grpc.CloudModelStub(channel).Info(pb.InfoRequest(), timeout=5))
    assert code == grpc.StatusCode.UNAVAILABLE
    system_roots = grpc.ssl_channel_credentials()  # the test CA is not among them
    async with grpc.aio.secure_channel(f"127.0.0.1:{tls_server.port}", system_roots) as channel:
        code, _ = await status_of(pb_grpc.CloudModelStub(channel).Info(pb.InfoRequest(), timeout=5))
    assert code == grpc.StatusCode.UNAVAILABLE


async def test_mtls_requires_a_client_certificate(mtls_server: CloudServer, pki: Pki) -> None:
    address = f"127.0.0.1:{mtls_server.port}"
    no_cert = grpc.ssl_channel_credentials(root_certificates=pki.ca_bytes())
    async with grpc.aio.secure_channel(address, no_cert) as channel:
        code, _ = await status_of(pb_grpc.CloudModelStub(channel).Info(pb.InfoRequest(), metadata=AUTH, timeout=5))
    assert code == grpc.StatusCode.UNAVAILABLE
    with_cert = grpc.ssl_channel_credentials(pki.ca_bytes(), pki.client_key.read_bytes(), pki.client_cert.read_bytes())
    async with grpc.aio.secure_channel(address, with_cert) as channel:
        stub = pb_grpc.CloudModelStub(channel)
        assert (await stub.Info(pb.InfoRequest(), metadata=AUTH, timeout=10)).n_vocab == 49152
        code, details = await status_of(stub.Info(pb.InfoRequest(), timeout=10))  # the token is still needed
    assert (code, details) == (grpc.StatusCode.UNAUTHENTICATED, MISSING)


def edge_settings(pki: Pki, token_file: Path | str) -> CloudConfig:
    return CloudConfig(ca_file=str(pki.ca), cert_file=str(pki.client_cert), key_file=str(pki.client_key),
                       token_file=str(token_file))


async def test_cloud_client_end_to_end_over_mtls_with_a_token(mtls_server: CloudServer, pki: Pki,
                                                              tmp_path: Path) -> None:
    edge_token = tmp_path / "edge.token"
    edge_token.write_text(f"{TOKEN}\n")
    guard = PrivacyGuard(["Priya Raman"])
    client = CloudClient(f"127.0.0.1:{mtls_server.port}", AuditLog(tmp_path / "audit.jsonl"), guard,
                         cloud=edge_settings(pki, edge_token))

    def run() -> str:
        with client:
            return "".join(client.generate("Write one word to Priya Raman.", max_tokens=3))

    text = await asyncio.to_thread(run)
    assert client.last_completion_tokens == 3 and text.strip()
    assert client.stats.rpcs == ["Generate"] and "Priya" not in (tmp_path / "audit.jsonl").read_text()


async def test_cloud_client_token_mistakes_do_not_fall_back(mtls_server: CloudServer, pki: Pki,
                                                            tmp_path: Path) -> None:
    address = f"127.0.0.1:{mtls_server.port}"
    missing = CloudClient(address, AuditLog(tmp_path / "a.jsonl"), PrivacyGuard(),
                          cloud=edge_settings(pki, tmp_path / "nope.token"))
    with pytest.raises(CloudError, match=r"'cloud.token_file': cannot read .*nope.token") as caught:
        await asyncio.to_thread(missing.info)
    assert not caught.value.fallback_ok
    tokenless = CloudClient(address, AuditLog(tmp_path / "b.jsonl"), PrivacyGuard(), cloud=edge_settings(pki, ""))
    with pytest.raises(CloudError, match=re.escape(MISSING)) as caught:
        await asyncio.to_thread(tokenless.info)
    tokenless.close()
    assert caught.value.code == grpc.StatusCode.UNAUTHENTICATED and not caught.value.fallback_ok


# -- limits -------------------------------------------------------------------------------


async def test_texts_longer_than_max_prompt_chars_are_invalid(guarded: CloudServer, stub) -> None:
    long = "word " * 50  # 250 characters; the limit is 200
    code, details = await generate_status(stub, pb.GenerateRequest(prompt=long, max_tokens=2))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details == "prompt has 250 characters; the limit is 200 (server.max_prompt_chars)"
    code, details = await generate_status(stub, pb.GenerateRequest(prompt="hi", system=long, max_tokens=2))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("system has 250 characters")
    code, details = await status_of(stub.Sketch(pb.SketchRequest(instruction=long, max_tokens=4), metadata=AUTH))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("instruction has 250 characters")
    call = stub.Fuse(metadata=AUTH, timeout=10)
    await call.write(fuse_open(guarded, prompt=long))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call.read()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "server.max_prompt_chars" in caught.value.details()


async def test_messages_larger_than_max_message_bytes_are_refused(stub) -> None:
    code, details = await generate_status(stub, pb.GenerateRequest(prompt="x" * 5000, max_tokens=2))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "4096" in details


async def test_calls_beyond_max_concurrent_rpcs_are_refused(guarded: CloudServer, stub) -> None:
    await asyncio.sleep(0.2)  # let the server finish the calls of earlier tests
    held = []
    for _ in range(2):  # max_concurrent_rpcs = 2: two open Fuse streams fill it
        call = stub.Fuse(metadata=AUTH, timeout=30)
        await call.write(fuse_open(guarded))
        assert (await call.read()).positions
        held.append(call)
    code, details = await status_of(stub.Info(pb.InfoRequest(), metadata=AUTH, timeout=10))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details
    for call in held:
        await call.done_writing()
        assert await call.code() == grpc.StatusCode.OK
    await asyncio.sleep(0.2)
    assert (await stub.Info(pb.InfoRequest(), metadata=AUTH, timeout=10)).n_vocab == 49152


# -- metrics ------------------------------------------------------------------------------


def sample_key(name: str, **labels: str) -> str:
    """One sample's key: its name and its labels in name order."""
    return name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else "")


def parse_metrics(text: str) -> dict[str, float]:
    """Every sample of a Prometheus text exposition, parsed by prometheus_client's own parser."""
    return {sample_key(s.name, **s.labels): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def scrape(cloud: CloudServer, path: str = "/metrics") -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(f"http://127.0.0.1:{cloud.metrics_server.port}{path}", timeout=10)


async def wait_for_sample(cloud: CloudServer, key: str, value: float) -> dict[str, float]:
    for _ in range(50):
        samples = parse_metrics((await scrape(cloud)).text)
        if samples.get(key) == value:
            return samples
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} never became {value}: {samples.get(key)}")


async def test_metrics_count_calls_errors_tokens_and_sessions(guarded: CloudServer, stub) -> None:
    reply = await scrape(guarded)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE tandem_request_seconds histogram" in reply.text
    assert "# TYPE tandem_active_sessions gauge" in reply.text
    before = parse_metrics(reply.text)
    await wait_for_sample(guarded, "tandem_active_rpcs", 0)

    assert (await generate_status(stub, pb.GenerateRequest(prompt="Say hi.", max_tokens=3)))[0] == grpc.StatusCode.OK
    assert (await generate_status(stub, pb.GenerateRequest(prompt="hi", max_tokens=2), metadata=()))[0] \
        == grpc.StatusCode.UNAUTHENTICATED
    assert (await generate_status(stub, pb.GenerateRequest(prompt="", max_tokens=2)))[0] \
        == grpc.StatusCode.INVALID_ARGUMENT
    sketch = await stub.Sketch(pb.SketchRequest(instruction="Plan a picnic.", max_tokens=4), metadata=AUTH)
    session = stub.Fuse(metadata=AUTH, timeout=30)
    await session.write(fuse_open(guarded))
    await session.read()
    during = await wait_for_sample(guarded, "tandem_active_sessions", 1)
    assert during["tandem_active_rpcs"] == 1
    await session.done_writing()
    assert await session.code() == grpc.StatusCode.OK
    after = await wait_for_sample(guarded, "tandem_active_sessions", 0)
    await wait_for_sample(guarded, "tandem_active_rpcs", 0)

    def moved(key: str) -> float:
        return after.get(key, 0) - before.get(key, 0)

    assert moved(sample_key("tandem_requests_total", method="Generate")) == 3
    assert moved(sample_key("tandem_requests_total", method="Sketch")) == 1
    assert moved(sample_key("tandem_requests_total", method="Fuse")) == 1
    assert moved(sample_key("tandem_errors_total", code="UNAUTHENTICATED", method="Generate")) == 1
    assert moved(sample_key("tandem_errors_total", code="INVALID_ARGUMENT", method="Generate")) == 1
    assert moved(sample_key("tandem_request_seconds_count", method="Generate")) == 3
    assert moved(sample_key("tandem_request_seconds_bucket", method="Generate", le="+Inf")) == 3
    assert moved("tandem_completion_tokens_total") == 3 + sketch.completion_tokens
    assert not [k for k in after if k.startswith("tandem_errors_total") and moved(k)
                and ('"Sketch"' in k or '"Fuse"' in k)]

    missing = await scrape(guarded, "/other")
    assert missing.status_code == 404


async def test_metrics_see_a_vanished_fuse_client_go(guarded: CloudServer, stub) -> None:
    # A client that drops its session mid-stream (no done_writing): the gauge and the table both let go.
    session = stub.Fuse(metadata=AUTH, timeout=30)
    await session.write(fuse_open(guarded))
    await session.read()
    await wait_for_sample(guarded, "tandem_active_sessions", 1)
    session.cancel()
    await wait_for_sample(guarded, "tandem_active_sessions", 0)
    await wait_for_sample(guarded, "tandem_active_rpcs", 0)
    assert guarded.servicer.backend.sessions.sessions == {}


# -- logs ---------------------------------------------------------------------------------


async def test_the_cloud_logs_no_user_text(guarded: CloudServer, stub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    text = f"Write a note for {CANARY} about the picnic."
    await generate_status(stub, pb.GenerateRequest(prompt=text, system=f"You help {CANARY}.", max_tokens=2))
    await generate_status(stub, pb.GenerateRequest(prompt=text, max_tokens=2), metadata=())
    await generate_status(stub, pb.GenerateRequest(prompt=text * 10, max_tokens=2))  # too long: refused
    await stub.Sketch(pb.SketchRequest(instruction=text, max_tokens=3), metadata=AUTH)
    session = stub.Fuse(metadata=AUTH, timeout=30)
    await session.write(fuse_open(guarded, prompt=text, system=f"About {CANARY}."))
    await session.read()
    await session.write(pb.FuseRequest(step=pb.FuseStep(append=[pb.FuseAppend(text=f" {CANARY}")])))
    await session.read()
    await session.done_writing()
    assert await session.code() == grpc.StatusCode.OK
    await asyncio.sleep(0.1)  # the servicer logs the session's end after the status is sent
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("Generate: ") for m in messages) and any(m.startswith("Sketch: ") for m in messages)
    assert any(m.startswith("Fuse session") for m in messages)
    assert CANARY not in caplog.text and not any(CANARY in m for m in messages)

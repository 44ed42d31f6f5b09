"""Build and run the grpc.aio server: the service, health, reflection, graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from cloud_service.auth import TokenAuth
from cloud_service.backends import make_backend
from cloud_service.capture import RequestCapture
from cloud_service.metrics import MetricsInterceptor, MetricsServer, ServiceMetrics
from cloud_service.servicer import CloudModelServicer, Undecodable
from cloud_service.settings import ServerConfig
from protos import tandem_pb2 as pb
from runtime.secret_files import read_pem, read_tokens

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CloudModel"].full_name  # "tandem.v1.CloudModel"


def _lenient(message_type, method: str, capture: RequestCapture | None) -> Callable[[bytes], object]:
    """Parse a request, or return Undecodable so the handler can answer INVALID_ARGUMENT.

    A deserializer that raises would make gRPC answer INTERNAL with no useful message.
    With a capture, the raw bytes are recorded first, whatever they are.
    """

    def parse(data: bytes):
        if capture is not None:
            capture.record(method, data)
        try:
            return message_type.FromString(data)
        except (DecodeError, ValueError) as exc:
            return Undecodable(message_type.DESCRIPTOR.full_name, str(exc) or "bad encoding")

    return parse


def _handlers(servicer: CloudModelServicer, capture: RequestCapture | None) -> grpc.GenericRpcHandler:
    return grpc.method_handlers_generic_handler(
        SERVICE_NAME,
        {
            "Info": grpc.unary_unary_rpc_method_handler(
                servicer.Info, _lenient(pb.InfoRequest, "Info", capture), pb.InfoResponse.SerializeToString
            ),
            "Generate": grpc.unary_stream_rpc_method_handler(
                servicer.Generate, _lenient(pb.GenerateRequest, "Generate", capture),
                pb.GenerateChunk.SerializeToString,
            ),
            "Sketch": grpc.unary_unary_rpc_method_handler(
                servicer.Sketch, _lenient(pb.SketchRequest, "Sketch", capture), pb.SketchResponse.SerializeToString
            ),
            "Fuse": grpc.stream_stream_rpc_method_handler(
                servicer.Fuse, _lenient(pb.FuseRequest, "Fuse", capture), pb.FuseResponse.SerializeToString
            ),
        },
    )


@dataclass
class CloudServer:
    """A running (or about to run) cloud service and its parts."""

    server: grpc.aio.Server
    servicer: CloudModelServicer
    health: health.aio.HealthServicer
    port: int
    metrics: ServiceMetrics | None = None
    metrics_server: MetricsServer | None = None  # http://host:metrics_port/metrics when enabled

    async def load_model(self) -> None:
        """Load the backend off the event loop, then report SERVING."""
        info = await asyncio.to_thread(self.servicer.backend.load)
        log.info("model %s ready (n_vocab=%d, n_ctx=%d)", info.model_id, info.n_vocab, info.n_ctx)
        for name in ("", SERVICE_NAME):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float) -> None:
        """Graceful shutdown: NOT_SERVING, refuse new calls, let in-flight ones finish for `grace` s.

        The draining is done here rather than by `server.stop(grace)`, which on grpc 1.85
        keeps a core busy while it waits and so starves the very calls it waits for.
        """
        await self.health.enter_graceful_shutdown()
        finished = await self.servicer.drain(grace)
        if not finished:
            log.warning("grace period over: cancelling the calls still running")
        # A handler that has returned may not have sent its status yet: stop(0) would cut it
        # (the client saw UNAVAILABLE for a Fuse session that ended OK); a short grace flushes it.
        await self.server.stop(1.0 if finished else 0)
        if self.metrics_server is not None:
            await self.metrics_server.stop()
        await self.servicer.backend.aclose()


def _credentials(config: ServerConfig) -> grpc.ServerCredentials | None:
    """TLS from tls_cert_file + tls_key_file; mTLS when tls_client_ca_file is set too; None = plaintext."""
    if not config.tls_cert_file:
        return None
    pair = (read_pem(config.tls_key_file, "server.tls_key_file"), read_pem(config.tls_cert_file, "server.tls_cert_file"))
    client_ca = read_pem(config.tls_client_ca_file, "server.tls_client_ca_file") if config.tls_client_ca_file else None
    return grpc.ssl_server_credentials([pair], root_certificates=client_ca, require_client_auth=client_ca is not None)


def _options(config: ServerConfig) -> list[tuple[str, int]]:
    """Message size limits and HTTP/2 keepalive (server pings, and how often clients may ping)."""
    keepalive_ms = int(config.keepalive_s * 1000)
    return [
        ("grpc.so_reuseport", 0),
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
        ("grpc.keepalive_time_ms", keepalive_ms),
        ("grpc.keepalive_timeout_ms", min(keepalive_ms, 20_000)),
        # Permit policy: edges may keep an idle connection alive with pings, but one that
        # pings more often than every 10 s (or keepalive_s, if shorter) is sent GOAWAY.
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", min(keepalive_ms, 10_000)),
        ("grpc.http2.max_ping_strikes", 2),
    ]


async def start_server(config: ServerConfig, model: str | None = None) -> CloudServer:
    """Bind and start the server; the model is not loaded yet (health: NOT_SERVING)."""
    tokens = read_tokens(config.token_file, "server.token_file") if config.token_file else []
    credentials = _credentials(config)  # unreadable files fail here, before anything starts
    backend = make_backend(config, model)
    servicer = CloudModelServicer(backend, config.max_tokens_limit, config.session_idle_s, config.max_prompt_chars)
    metrics = ServiceMetrics()
    # The metrics interceptor is outermost, so calls the token check refuses are counted too.
    interceptors: list[grpc.aio.ServerInterceptor] = [MetricsInterceptor(metrics)]
    if tokens:
        interceptors.append(TokenAuth(tokens))
    server = grpc.aio.server(
        interceptors=interceptors,
        maximum_concurrent_rpcs=config.max_concurrent_rpcs,
        options=_options(config),
    )
    capture = RequestCapture(Path(config.capture_file)) if config.capture_file else None
    server.add_generic_rpc_handlers((_handlers(servicer, capture),))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    address = f"{config.host}:{config.port}"
    try:
        port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    except RuntimeError:
        port = 0
    if port == 0:
        raise OSError(f"cannot listen on {config.host}:{config.port} (in use, or not an address here)")
    await server.start()
    cloud = CloudServer(server, servicer, health_servicer, port, metrics)
    if config.metrics_port:
        try:
            cloud.metrics_server = await MetricsServer(metrics.registry).start(config.host, config.metrics_port)
        except OSError as exc:
            await server.stop(0)
            raise OSError(f"server.metrics_port: cannot listen on {config.host}:{config.metrics_port} "
                          f"({exc.strerror or exc})") from None
        log.info("metrics on http://%s:%d/metrics", config.host, cloud.metrics_server.port)
    log.info("%s, %s", "mTLS" if config.tls_client_ca_file else "TLS" if credentials else "plaintext (no TLS)",
             f"bearer tokens required ({len(tokens)} allowed)" if tokens else "no authentication")
    return cloud


async def serve(config: ServerConfig, model: str | None = None, on_ready: Callable[[CloudServer], None] | None = None) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    cloud = await start_server(config, model)
    log.info("listening on %s:%d (loading %s)", config.host, cloud.port, cloud.servicer.backend.description)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    loader = asyncio.create_task(cloud.load_model())
    loader.add_done_callback(lambda t: on_ready(cloud) if on_ready and not t.cancelled() and not t.exception() else None)
    stop_wait = asyncio.create_task(stopping.wait())
    done, _ = await asyncio.wait({loader, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
    if loader in done and loader.exception() is not None:
        stop_wait.cancel()
        await cloud.server.stop(0)
        if cloud.metrics_server is not None:
            await cloud.metrics_server.stop()
        raise loader.exception()
    await stopping.wait()
    log.info("shutting down (grace %.1fs)", config.grace_s)
    if not loader.done():
        loader.cancel()
    await cloud.stop(config.grace_s)

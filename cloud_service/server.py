"""Build and run the grpc.aio server: the service, health, reflection, graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from cloud_service.backend import LlamaBackend
from cloud_service.capture import RequestCapture
from cloud_service.servicer import CloudModelServicer, Undecodable
from edge_agent.config import ServerConfig
from edge_agent.models import resolve_model
from protos import tandem_pb2 as pb

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
        await self.server.stop(0)
        self.servicer.backend.close()


async def start_server(config: ServerConfig, model: str | None = None) -> CloudServer:
    """Bind and start the server; the model is not loaded yet (health: NOT_SERVING)."""
    path = resolve_model(model or config.model)
    backend = LlamaBackend(path, n_ctx=config.n_ctx, n_threads=config.n_threads, max_sessions=config.max_sessions)
    servicer = CloudModelServicer(backend, config.max_tokens_limit, config.session_idle_s)
    server = grpc.aio.server(
        maximum_concurrent_rpcs=config.max_concurrent_rpcs,
        options=[("grpc.so_reuseport", 0)],
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
    port = server.add_insecure_port(f"{config.host}:{config.port}")
    if port == 0:
        raise OSError(f"cannot listen on {config.host}:{config.port} (in use, or not an address here)")
    await server.start()
    return CloudServer(server, servicer, health_servicer, port)


async def serve(config: ServerConfig, model: str | None = None, on_ready: Callable[[CloudServer], None] | None = None) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    cloud = await start_server(config, model)
    log.info("listening on %s:%d (loading %s)", config.host, cloud.port, cloud.servicer.backend.path.name)
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
        raise loader.exception()
    await stopping.wait()
    log.info("shutting down (grace %.1fs)", config.grace_s)
    if not loader.done():
        loader.cancel()
    await cloud.stop(config.grace_s)

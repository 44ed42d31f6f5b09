"""Prometheus metrics of the cloud service: a gRPC interceptor and the /metrics endpoint (prometheus_client).

Each server has its own registry, so several can run in one process (the tests do).
Only counts, codes and timings are recorded, never request text.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import grpc
import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer  # a thread per scrape

from cloud_service.auth import PROTECTED, CloudModelInterceptor, same_kind

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

# No `*_created` series next to each counter and histogram: the service exposes the six metrics
# it documents. (A process-wide switch of prometheus_client; the service owns its process.)
prometheus_client.disable_created_metrics()


class ServiceMetrics:
    """The cloud service's metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("tandem_requests_total", "CloudModel calls received, by method", ["method"],
                                registry=r)
        self.errors = Counter("tandem_errors_total", "CloudModel calls that ended with a non-OK status",
                              ["method", "code"], registry=r)
        self.seconds = Histogram("tandem_request_seconds", "CloudModel call duration in seconds", ["method"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.completion_tokens = Counter("tandem_completion_tokens_total", "tokens generated for Generate and Sketch",
                                         registry=r)
        self.active_sessions = Gauge("tandem_active_sessions", "open Fuse sessions", registry=r)
        self.active_rpcs = Gauge("tandem_active_rpcs", "CloudModel calls in progress", registry=r)


_CODES = {code.value[0]: code for code in grpc.StatusCode}


def _code_name(context: grpc.aio.ServicerContext, default: grpc.StatusCode) -> str:
    code = context.code()
    if isinstance(code, int):
        code = _CODES.get(code)
    return (code or default).name


class MetricsInterceptor(CloudModelInterceptor):
    """Counts, times and labels every CloudModel call (outermost, so auth failures count too)."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self.metrics = metrics

    def wrap(self, handler: grpc.RpcMethodHandler, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        """The handler with its behaviour counted and timed."""
        method = details.method[len(PROTECTED):]
        inner = handler.unary_unary or handler.unary_stream or handler.stream_unary or handler.stream_stream
        behavior = self._stream(method, inner) if inspect.isasyncgenfunction(inner) else self._unary(method, inner)
        return same_kind(handler, behavior)

    @contextlib.contextmanager
    def _call(self, method: str, context: grpc.aio.ServicerContext) -> Iterator[None]:
        m = self.metrics
        m.requests.labels(method=method).inc()
        m.active_rpcs.inc()
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            yield
        except grpc.aio.AbortError:
            code = grpc.StatusCode.UNKNOWN  # replaced by the code abort() set, read below
            raise
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except Exception:
            code = grpc.StatusCode.UNKNOWN
            raise
        finally:
            m.active_rpcs.dec()
            m.seconds.labels(method=method).observe(time.perf_counter() - started)
            name = code.name if code == grpc.StatusCode.CANCELLED else _code_name(context, code)
            if name != "OK":
                m.errors.labels(method=method, code=name).inc()

    def _tokens(self, response) -> None:
        tokens = getattr(response, "completion_tokens", 0)
        if tokens:
            self.metrics.completion_tokens.inc(tokens)

    def _unary(self, method: str, inner):
        async def behavior(request, context: grpc.aio.ServicerContext):
            with self._call(method, context):
                response = await inner(request, context)
                self._tokens(response)
                return response

        return behavior

    def _stream(self, method: str, inner):
        async def behavior(request, context: grpc.aio.ServicerContext):
            session = False
            with self._call(method, context):
                try:
                    async with contextlib.aclosing(inner(request, context)) as responses:
                        async for response in responses:
                            self._tokens(response)
                            if method == "Fuse" and not session:  # the first reply means the session is open
                                session = True
                                self.metrics.active_sessions.inc()
                            yield response
                finally:
                    if session:
                        self.metrics.active_sessions.dec()

        return behavior


NOT_FOUND = b"not found: try /metrics\n"


def metrics_app(registry: CollectorRegistry) -> Callable:
    """prometheus_client's WSGI app on GET/HEAD /metrics only; any other path is 404."""
    app = make_wsgi_app(registry)

    def only_metrics(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                                             ("Content-Length", str(len(NOT_FOUND)))])
            return [NOT_FOUND]
        if environ["REQUEST_METHOD"] == "HEAD":  # the headers of a GET
            for _ in app({**environ, "REQUEST_METHOD": "GET"}, start_response):
                pass
            return []
        return app(environ, start_response)

    return only_metrics


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Scrapes are not logged."""


class MetricsServer:
    """GET /metrics over HTTP from a thread of its own (prometheus_client's exposition)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._httpd: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> MetricsServer:
        """Listen on host:port (OSError if it cannot) and serve from a daemon thread."""
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        server_class = type("MetricsHTTPServer", (ThreadingWSGIServer,), {"address_family": family})
        self._httpd = make_server(host, port, metrics_app(self.registry), server_class, handler_class=_Quiet)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="metrics", daemon=True)
        self._thread.start()
        return self

    async def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is not None:
            httpd, self._httpd = self._httpd, None
            await asyncio.to_thread(httpd.shutdown)
            httpd.server_close()


"""Prometheus metrics without a dependency: a tiny registry, a gRPC interceptor, a /metrics server.

Only counts, codes and timings are recorded, never request text.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import time

import grpc

from cloud_service.auth import PROTECTED, CloudModelInterceptor, same_kind

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

Labels = tuple[tuple[str, str], ...]


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    escaped = (v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') for _, v in labels)
    return "{" + ",".join(f'{k}="{v}"' for (k, _), v in zip(labels, escaped)) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help = help_text
        self.values: dict[Labels, float] = {}

    def _key(self, labels: dict[str, str]) -> Labels:
        return tuple(sorted(labels.items()))

    def value(self, **labels: str) -> float:
        return self.values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        return [f"{self.name}{_labels(key)} {_number(v)}" for key, v in sorted(self.values.items())]

    def render(self) -> str:
        head = f"# HELP {self.name} {self.help}\n# TYPE {self.name} {self.kind}\n"
        return head + "".join(line + "\n" for line in self.samples())


class Counter(Metric):
    kind = "counter"

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        self.values[key] = self.values.get(key, 0.0) + amount


class Gauge(Counter):
    kind = "gauge"

    def dec(self, amount: float = 1.0, **labels: str) -> None:
        self.inc(-amount, **labels)


class Histogram(Metric):
    kind = "histogram"

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        super().__init__(name, help_text)
        self.buckets = tuple(sorted(buckets)) + (math.inf,)
        self.counts: dict[Labels, list[int]] = {}
        self.sums: dict[Labels, float] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        counts = self.counts.setdefault(key, [0] * len(self.buckets))
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                counts[i] += 1
        self.sums[key] = self.sums.get(key, 0.0) + value

    def count(self, **labels: str) -> int:
        return self.counts.get(self._key(labels), [0])[-1]

    def samples(self) -> list[str]:
        lines = []
        for key, counts in sorted(self.counts.items()):
            for bound, n in zip(self.buckets, counts):
                lines.append(f"{self.name}_bucket{_labels(key + (('le', _number(bound)),))} {n}")
            lines.append(f"{self.name}_sum{_labels(key)} {_number(self.sums[key])}")
            lines.append(f"{self.name}_count{_labels(key)} {counts[-1]}")
        return lines


class Registry:
    """Metrics in registration order, rendered in the Prometheus text exposition format 0.0.4."""

    def __init__(self) -> None:
        self.metrics: list[Metric] = []

    def add(self, metric: Metric) -> Metric:
        self.metrics.append(metric)
        return metric

    def render(self) -> str:
        return "".join(m.render() for m in self.metrics)


class ServiceMetrics:
    """The cloud service's metrics."""

    def __init__(self) -> None:
        self.registry = Registry()
        add = self.registry.add
        self.requests: Counter = add(Counter("tandem_requests_total", "CloudModel calls received, by method"))
        self.errors: Counter = add(Counter("tandem_errors_total", "CloudModel calls that ended with a non-OK status"))
        self.seconds: Histogram = add(Histogram("tandem_request_seconds", "CloudModel call duration in seconds"))
        self.completion_tokens: Counter = add(Counter("tandem_completion_tokens_total",
                                                      "tokens generated for Generate and Sketch"))
        self.active_sessions: Gauge = add(Gauge("tandem_active_sessions", "open Fuse sessions"))
        self.active_rpcs: Gauge = add(Gauge("tandem_active_rpcs", "CloudModel calls in progress"))
        self.active_sessions.inc(0)
        self.active_rpcs.inc(0)


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
        method = details.method[len(PROTECTED):]
        inner = handler.unary_unary or handler.unary_stream or handler.stream_unary or handler.stream_stream
        behavior = self._stream(method, inner) if inspect.isasyncgenfunction(inner) else self._unary(method, inner)
        return same_kind(handler, behavior)

    @contextlib.contextmanager
    def _call(self, method: str, context: grpc.aio.ServicerContext):
        m = self.metrics
        m.requests.inc(method=method)
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
            m.seconds.observe(time.perf_counter() - started, method=method)
            name = code.name if code == grpc.StatusCode.CANCELLED else _code_name(context, code)
            if name != "OK":
                m.errors.inc(method=method, code=name)

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


class MetricsServer:
    """GET /metrics over plain HTTP/1.1 (one response per connection); anything else is 404."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> MetricsServer:
        self._server = await asyncio.start_server(self._handle, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 10)
            for _ in range(100):  # skip the headers
                if (await asyncio.wait_for(reader.readline(), 10)).strip() == b"":
                    break
            parts = request_line.decode("latin-1").split()
            path = parts[1].split("?", 1)[0] if len(parts) >= 2 else ""
            if len(parts) >= 2 and parts[0] in ("GET", "HEAD") and path == "/metrics":
                status, content_type, body = "200 OK", CONTENT_TYPE, self.registry.render().encode()
            else:
                status, content_type, body = "404 Not Found", "text/plain; charset=utf-8", b"not found: try /metrics\n"
            head = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
            writer.write(head + (b"" if parts[:1] == ["HEAD"] else body))
            await writer.drain()
        except (TimeoutError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

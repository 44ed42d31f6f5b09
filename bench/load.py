"""`tandem bench load`: concurrent load and fault injection against a cloud in its own process.

Phases, each bounded in time and on loopback only:

- load: N clients mix Generate, Sketch and Fuse sessions (open + a few drafted steps);
  per RPC kind: completions, errors by status code, p50/p99 latency, tokens/s.
- cancel: clients that vanish mid-stream (Generate and Fuse); the server must free the
  model and the Fuse sessions (a new batch of `max_sessions` sessions opens).
- sigterm: SIGTERM under load; in-flight calls finish within `server.grace_s`, new calls
  get UNAVAILABLE, health turns NOT_SERVING, the process exits 0.
- upstream: the `openai` backend with its upstream down (a closed port) and slow (a
  loopback HTTP server that never answers in time): UNAVAILABLE / DEADLINE_EXCEEDED.
- deadline: tiny client deadlines on the embedded backend: DEADLINE_EXCEEDED, and the
  model is free again right after.

`run()` returns a `LoadReport`; `load_report.format_report()` renders the tables.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from edge_agent.cloud_process import CloudProcess, CloudStartError, free_port
from protos import tandem_pb2 as pb
from protos import tandem_pb2_grpc as pb_grpc
from runtime.models import resolve_model

Progress = Callable[[str], None]
KINDS = ("Generate", "Sketch", "Fuse")
PROMPTS = (
    "Write a short note to [PERSON_1] about the picnic.",
    "List three tips for sleeping well.",
    "Explain what a dentist does.",
    "Suggest a name for a cat.",
    "Describe autumn in one sentence.",
)
LONG_PROMPT = "Write a very long story about a dragon who learns to cook, with many chapters."
FUSE_STEPS = 3  # drafted steps per load-phase Fuse session
FUSE_DRAFT = 3  # draft tokens per step
TOP_K = 5
AFTER_SIGTERM_OK = ("UNAVAILABLE", "CANCELLED", "CLIENT_WRITE_RACE")  # statuses of calls started after SIGTERM


@dataclass
class LoadSettings:
    """What `tandem bench load` runs; the defaults are the command's."""

    model: str = "smollm2-135m"
    duration_s: float = 20.0  # per timed phase (load; sigterm runs half of it before the signal)
    clients: int = 16
    max_tokens: int = 16  # per Generate / Sketch in the load phase (short outputs)
    max_sessions: int = 8  # server.max_sessions of the cloud under test
    grace_s: float = 5.0  # server.grace_s for the sigterm phase
    n_ctx: int = 2048
    n_threads: int = 1  # llama.cpp threads of the cloud: the clients need a core too (0 = all cores)
    call_timeout_s: float = 60.0  # deadline of each load-phase call
    long_tokens: int = 512  # max_tokens of the calls that get cancelled or time out


@dataclass
class CallRecord:
    """One finished call (or one Fuse round trip) as the client saw it."""

    kind: str
    code: str  # grpc.StatusCode name
    started: float  # time.monotonic()
    ended: float
    tokens: int = 0
    details: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Check:
    """One fault-injection probe: what was expected, what happened."""

    name: str
    expected: str
    got: str
    seconds: float
    details: str = ""
    ok: bool = False


@dataclass
class CancelResult:
    generate_cancelled: int = 0
    fuse_cancelled: int = 0
    max_sessions: int = 0
    reopened: int = 0  # sessions of the new batch that opened
    reopen_s: float = 0.0  # from the cancels until the whole new batch was open
    next_generate_s: float = 0.0  # a short Generate right after the cancels (the model is free)
    metrics: str = "skipped: no metrics endpoint"  # tandem_active_sessions readings
    errors: dict[str, str] = field(default_factory=dict)  # unexpected status -> its details


@dataclass
class SigtermResult:
    grace_s: float = 0.0
    before: Counter = field(default_factory=Counter)  # calls that ended before the signal
    in_flight: Counter = field(default_factory=Counter)  # started before, ended after the signal
    last_in_flight_s: float = 0.0  # signal -> the last in-flight call ended
    after: Counter = field(default_factory=Counter)  # calls started after the signal
    in_flight_cut: int = 0  # in flight, still running when grace_s ran out: cancelled by the server
    refused_draining: int = 0  # UNAVAILABLE "shutting down" from the draining server
    first_refusal_s: float | None = None
    examples: dict[str, str] = field(default_factory=dict)  # "phase CODE" -> the first details seen
    not_serving_s: float | None = None  # signal -> health NOT_SERVING first seen
    exit_s: float | None = None
    exit_code: int | None = None


@dataclass
class LoadReport:
    settings: LoadSettings
    load: list[CallRecord] = field(default_factory=list)
    load_seconds: float = 0.0
    cancel: CancelResult | None = None
    sigterm: SigtermResult | None = None
    upstream: list[Check] | str = "not run"
    deadline: list[Check] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # problems; empty = all behaved
    notes: list[str] = field(default_factory=list)  # known client-side quirks, not server faults


# ---------------------------------------------------------------- clients


# grpc.aio reports a write that raced the server ending the stream as INTERNAL "Internal error
# from Core" (grpc/aio/_call.py: set_internal_error), and the server's own status is lost.
WRITE_RACE = "Internal error from Core (the client's write raced the server ending the stream)"


def _code(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, grpc.aio.AioRpcError):
        if exc.details() == WRITE_RACE:
            return "CLIENT_WRITE_RACE", WRITE_RACE
        return exc.code().name, exc.details() or ""
    if isinstance(exc, asyncio.TimeoutError):
        return "CLIENT_TIMEOUT", "no answer within the client's own timeout"
    return type(exc).__name__, str(exc)


async def call_generate(stub, prompt: str, max_tokens: int, timeout: float, seed: int = 0) -> CallRecord:
    started = time.monotonic()
    tokens, code, details = 0, "OK", ""
    try:
        async for chunk in stub.Generate(pb.GenerateRequest(prompt=prompt, max_tokens=max_tokens, temperature=0.7,
                                                            seed=seed), timeout=timeout):
            tokens += len(chunk.token_ids)
    except (TimeoutError, grpc.aio.AioRpcError) as exc:
        code, details = _code(exc)
    return CallRecord("Generate", code, started, time.monotonic(), tokens, details)


async def call_sketch(stub, prompt: str, max_tokens: int, timeout: float, seed: int = 0) -> CallRecord:
    started = time.monotonic()
    try:
        reply = await stub.Sketch(pb.SketchRequest(instruction=prompt, max_tokens=max_tokens, seed=seed),
                                  timeout=timeout)
        return CallRecord("Sketch", "OK", started, time.monotonic(), reply.completion_tokens)
    except (TimeoutError, grpc.aio.AioRpcError) as exc:
        code, details = _code(exc)
        return CallRecord("Sketch", code, started, time.monotonic(), 0, details)


class FuseSession:
    """One Fuse stream driven a message at a time (the shapes of tests/cloud_service/test_fuse.py)."""

    def __init__(self, stub, timeout: float | None) -> None:
        self.call = stub.Fuse(timeout=timeout)

    async def send(self, request: pb.FuseRequest) -> pb.FuseResponse:
        try:
            await self.call.write(request)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INTERNAL and exc.details() == "Internal error from Core":
                raise grpc.aio.AioRpcError(exc.code(), grpc.aio.Metadata(), grpc.aio.Metadata(), WRITE_RACE) from None
            raise
        response = await self.call.read()
        if response is grpc.aio.EOF:  # the server ended the stream: raise its status
            code = await self.call.code()
            raise grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(),
                                       await self.call.details())
        return response

    async def open(self, fingerprint: str, prompt: str) -> pb.FuseResponse:
        return await self.send(pb.FuseRequest(open=pb.FuseOpen(vocab_fingerprint=fingerprint, prompt=prompt,
                                                               top_k=TOP_K)))

    async def step(self, keep: int, ids: list[int], drafts: list[int]) -> pb.FuseResponse:
        return await self.send(pb.FuseRequest(step=pb.FuseStep(keep=keep, append=[pb.FuseAppend(ids=ids)],
                                                               draft_ids=drafts)))

    async def close(self) -> grpc.StatusCode:
        await self.call.done_writing()
        return await self.call.code()


async def call_fuse(stub, fingerprint: str, prompt: str, steps: int, timeout: float,
                    round_trips: list[CallRecord] | None = None) -> CallRecord:
    """A speculative session: each step keeps the first draft, appends the correction, drafts more."""
    started = time.monotonic()
    tokens, code, details = 0, "OK", ""
    session = FuseSession(stub, timeout)
    try:
        t = time.monotonic()
        response = await session.open(fingerprint, prompt)
        tokens += len(response.positions)
        if round_trips is not None:
            round_trips.append(CallRecord("Fuse round trip", "OK", t, time.monotonic(), len(response.positions)))
        keep = 0
        for _ in range(steps):
            row = response.positions[keep]  # the distribution after the kept drafts
            drafts = list(row.ids[1:1 + FUSE_DRAFT])  # guesses the cloud scores (a real edge drafts its own)
            t = time.monotonic()
            response = await session.step(keep, [row.ids[0]], drafts)
            tokens += len(response.positions)
            if round_trips is not None:
                round_trips.append(CallRecord("Fuse round trip", "OK", t, time.monotonic(), len(response.positions)))
            keep = 1 if drafts else 0
        status = await session.close()
        code = status.name
    except (TimeoutError, grpc.aio.AioRpcError) as exc:
        code, details = _code(exc)
        session.call.cancel()
    return CallRecord("Fuse", code, started, time.monotonic(), tokens, details)


async def info(stub) -> pb.InfoResponse:
    return await stub.Info(pb.InfoRequest(), timeout=10)


async def client_loop(index: int, address: str, fingerprint: str, settings: LoadSettings, until: Callable[[], bool],
                      records: list[CallRecord], kinds: tuple[str, ...] = KINDS, pause_on_error: float = 0.05) -> None:
    """Issue calls back to back until `until()`; every call (and Fuse round trip) lands in `records`."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.CloudModelStub(channel)
        n = index
        while not until():
            kind = kinds[n % len(kinds)]
            prompt = PROMPTS[n % len(PROMPTS)]
            n += 1
            if kind == "Generate":
                record = await call_generate(stub, prompt, settings.max_tokens, settings.call_timeout_s, seed=n)
            elif kind == "Sketch":
                record = await call_sketch(stub, prompt, settings.max_tokens, settings.call_timeout_s, seed=n)
            else:
                record = await call_fuse(stub, fingerprint, prompt, FUSE_STEPS, settings.call_timeout_s, records)
            records.append(record)
            if record.code != "OK":
                await asyncio.sleep(pause_on_error)  # a refused client does not spin


async def ticker(name: str, started: float, total: float | None, records: list[CallRecord], progress: Progress,
                 every: float = 2.0) -> None:
    """Progress lines while a phase runs (cancelled by the phase when it ends)."""
    while True:
        await asyncio.sleep(every)
        calls = [r for r in records if r.kind != "Fuse round trip"]
        errors = sum(r.code != "OK" for r in calls)
        elapsed = time.monotonic() - started
        of = f"/{total:.0f}" if total else ""
        progress(f"  {name}: {elapsed:.0f}{of} s, {len(calls)} calls, {errors} errors")


# ---------------------------------------------------------------- phases


def _env(settings: LoadSettings, **server: object) -> dict[str, str]:
    """The child's environment: ServerConfig keys as TANDEM_SERVER_<KEY>."""
    env = dict(os.environ)
    values = {"n_ctx": settings.n_ctx, "n_threads": settings.n_threads, "max_sessions": settings.max_sessions,
              **server}
    for key, value in values.items():
        env[f"TANDEM_SERVER_{key.upper()}"] = str(value)
    return env


async def load_phase(address: str, settings: LoadSettings, progress: Progress) -> tuple[list[CallRecord], float]:
    async with grpc.aio.insecure_channel(address) as channel:
        fingerprint = (await info(pb_grpc.CloudModelStub(channel))).vocab_fingerprint
    records: list[CallRecord] = []
    started = time.monotonic()
    end = started + settings.duration_s
    tick = asyncio.create_task(ticker("load", started, settings.duration_s, records, progress))
    try:
        await asyncio.gather(*(client_loop(i, address, fingerprint, settings, lambda: time.monotonic() >= end, records)
                               for i in range(settings.clients)))
    finally:
        tick.cancel()
    return records, time.monotonic() - started


def read_active_sessions(port: int) -> float | None:
    """tandem_active_sessions from the metrics endpoint; None when there is none."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as reply:
            text = reply.read().decode("utf-8", "replace")
    except (OSError, urllib.error.URLError):
        return None
    for line in text.splitlines():
        if line.startswith("tandem_active_sessions"):
            try:
                return float(line.split()[-1])
            except ValueError:
                return None
    return None


async def open_sessions(stub, fingerprint: str, n: int, deadline: float) -> list[tuple[FuseSession, pb.FuseResponse]]:
    """Open n sessions, retrying RESOURCE_EXHAUSTED (a full server) until `deadline`."""
    sessions: list[tuple[FuseSession, pb.FuseResponse]] = []
    while len(sessions) < n and time.monotonic() < deadline:
        session = FuseSession(stub, timeout=60)
        try:
            sessions.append((session, await session.open(fingerprint, PROMPTS[len(sessions) % len(PROMPTS)])))
        except grpc.aio.AioRpcError as exc:
            session.call.cancel()
            if exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise
            await asyncio.sleep(0.05)
    return sessions


async def cancel_phase(address: str, settings: LoadSettings, metrics_port: int, progress: Progress) -> CancelResult:
    """Clients vanish mid-stream; the model and the session slots must come back."""
    result = CancelResult(max_sessions=settings.max_sessions)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.CloudModelStub(channel)
        fingerprint = (await info(stub)).vocab_fingerprint
        n_streams = min(settings.clients, 4)
        progress(f"  cancel: {n_streams} long Generate streams ({settings.long_tokens} tokens) and "
                 f"{settings.max_sessions} Fuse sessions, each dropped mid-way")
        for _ in range(n_streams):
            stream = stub.Generate(pb.GenerateRequest(prompt=LONG_PROMPT, max_tokens=settings.long_tokens),
                                   timeout=120)
            await stream.read()  # the first chunk: decoding is under way on the server
            stream.cancel()
            result.generate_cancelled += 1
        for session, first in await open_sessions(stub, fingerprint, settings.max_sessions, time.monotonic() + 30):
            try:
                await session.step(0, [first.positions[0].ids[0]], list(first.positions[0].ids[1:3]))
            except grpc.aio.AioRpcError as exc:
                result.errors.setdefault(f"Fuse step {exc.code().name}", exc.details() or "")
            session.call.cancel()  # gone without done_writing: the server sees a cancelled stream
            result.fuse_cancelled += 1
        cancelled_at = time.monotonic()
        # Had the server kept decoding the dropped streams, this would queue behind them.
        result.next_generate_s = (await call_generate(stub, "Say hi.", 4, 60)).seconds
        readings = []
        active = await asyncio.to_thread(read_active_sessions, metrics_port)
        if active is not None:
            readings.append(f"{active:g} after the cancels")
        batch = await open_sessions(stub, fingerprint, settings.max_sessions, time.monotonic() + 10)
        result.reopened = len(batch)
        result.reopen_s = time.monotonic() - cancelled_at
        active = await asyncio.to_thread(read_active_sessions, metrics_port)
        if active is not None:
            readings.append(f"{active:g} with the new batch open")
        for session, _ in batch:
            await session.close()
        active = await asyncio.to_thread(read_active_sessions, metrics_port)
        if active is not None:
            readings.append(f"{active:g} after closing it")
        if readings:
            result.metrics = "tandem_active_sessions " + ", ".join(readings)
    progress(f"  cancel: new batch {result.reopened}/{result.max_sessions} open after {result.reopen_s:.2f} s")
    return result


async def _expect(name: str, expected: tuple[str, ...], probe: Awaitable[CallRecord]) -> Check:
    record = await probe
    return Check(name, "|".join(expected), record.code, record.seconds, record.details, record.code in expected)


async def fuse_until_error(stub, fingerprint: str, prompt: str, timeout: float, limit_s: float = 10.0) -> CallRecord:
    """A session that keeps stepping until the call fails (e.g. its deadline passes) or `limit_s`."""
    started = time.monotonic()
    session = FuseSession(stub, timeout)
    try:
        response = await session.open(fingerprint, prompt)
        while time.monotonic() - started < limit_s:
            response = await session.step(0, [response.positions[0].ids[0]], list(response.positions[0].ids[1:4]))
        return CallRecord("Fuse", (await session.close()).name, started, time.monotonic())
    except (TimeoutError, grpc.aio.AioRpcError) as exc:
        session.call.cancel()
        code, details = _code(exc)
        return CallRecord("Fuse", code, started, time.monotonic(), 0, details)


async def deadline_phase(address: str, settings: LoadSettings, progress: Progress) -> list[Check]:
    """Deadlines far shorter than the work: DEADLINE_EXCEEDED, and the model is free right after."""
    progress("  deadline: long Generate / Sketch / Fuse calls with deadlines of 0.1-0.3 s")
    deadline = ("DEADLINE_EXCEEDED",)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.CloudModelStub(channel)
        fingerprint = (await info(stub)).vocab_fingerprint
        checks = [
            await _expect(f"Generate {settings.long_tokens} tokens, 0.3 s deadline", deadline,
                          call_generate(stub, LONG_PROMPT, settings.long_tokens, 0.3)),
            await _expect(f"Sketch {settings.long_tokens} tokens, 0.3 s deadline", deadline,
                          call_sketch(stub, LONG_PROMPT, settings.long_tokens, 0.3)),
            await _expect("Fuse session stepping, 0.3 s deadline", deadline,
                          fuse_until_error(stub, fingerprint, LONG_PROMPT, 0.3)),
            await _expect("short Generate right after (model free)", ("OK",), call_generate(stub, "Say hi.", 4, 10)),
        ]
    return checks


async def poll_health(address: str, readings: list[tuple[float, str]], until: Callable[[], bool]) -> None:
    """Health status every 50 ms (UNREACHABLE when the call fails)."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while not until():
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=0.5)
                status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.aio.AioRpcError:
                status = "UNREACHABLE"
            readings.append((time.monotonic(), status))
            await asyncio.sleep(0.05)


async def hold_session(address: str, fingerprint: str, signalled: list[float], hold_s: float,
                       records: list[CallRecord]) -> None:
    """A Fuse session (a user's fused answer) that keeps stepping for `hold_s` after the signal."""
    async with grpc.aio.insecure_channel(address) as channel:
        started = time.monotonic()
        session = FuseSession(pb_grpc.CloudModelStub(channel), timeout=120)
        code, details = "OK", ""
        try:
            response = await session.open(fingerprint, PROMPTS[1])
            while not signalled or time.monotonic() < signalled[0] + hold_s:
                response = await session.step(0, [response.positions[0].ids[0]], [])
                await asyncio.sleep(0.1)
            code = (await session.close()).name
        except grpc.aio.AioRpcError as exc:
            code, details = _code(exc)
        records.append(CallRecord("Fuse (held)", code, started, time.monotonic(), 0, details))


async def sigterm_phase(cloud: CloudProcess, settings: LoadSettings, progress: Progress) -> SigtermResult:
    """SIGTERM under load: drain, refuse, NOT_SERVING, exit 0 — each measured."""
    assert cloud.proc is not None
    result = SigtermResult(grace_s=settings.grace_s)
    async with grpc.aio.insecure_channel(cloud.address) as channel:
        fingerprint = (await info(pb_grpc.CloudModelStub(channel))).vocab_fingerprint
    records: list[CallRecord] = []
    health: list[tuple[float, str]] = []
    signalled: list[float] = []
    stop_at = [float("inf")]
    until = lambda: time.monotonic() >= stop_at[0]  # noqa: E731
    hold_s = min(1.5, settings.grace_s / 2)
    pre_s = max(1.0, settings.duration_s / 2)
    started = time.monotonic()
    tasks = [asyncio.create_task(client_loop(i, cloud.address, fingerprint, settings, until, records,
                                             pause_on_error=0.1)) for i in range(settings.clients)]
    tasks.append(asyncio.create_task(poll_health(cloud.address, health, until)))
    tick = asyncio.create_task(ticker("sigterm", started, None, records, progress))
    try:
        await asyncio.sleep(max(0.0, pre_s - 0.5))
        tasks.append(asyncio.create_task(hold_session(cloud.address, fingerprint, signalled, hold_s, records)))
        await asyncio.sleep(0.5)
        progress(f"  sigterm: SIGTERM after {pre_s:g} s of load (grace {settings.grace_s:g} s)")
        cloud.proc.send_signal(signal.SIGTERM)
        signalled.append(time.monotonic())
        try:
            result.exit_code = await asyncio.to_thread(cloud.proc.wait, settings.grace_s + 20)
            result.exit_s = time.monotonic() - signalled[0]
        except subprocess.TimeoutExpired:
            pass
        stop_at[0] = time.monotonic() + 0.3  # a last round of calls against the closed port
        await asyncio.gather(*tasks)
    finally:
        tick.cancel()
        for task in tasks:
            task.cancel()
    t_sig = signalled[0]
    for record in records:
        if record.kind == "Fuse round trip":
            continue
        phase = "before" if record.ended < t_sig else "in flight" if record.started < t_sig else "after"
        if record.code != "OK":
            result.examples.setdefault(f"{phase} {record.kind} {record.code}",
                                       f"{record.details} (ended at +{record.ended - t_sig:.2f} s)")
        if phase == "before":
            result.before[record.code] += 1
        elif phase == "in flight":
            result.in_flight[record.code] += 1
            if record.code == "OK":
                result.last_in_flight_s = max(result.last_in_flight_s, record.ended - t_sig)
            elif record.ended - t_sig >= settings.grace_s - 0.1 and "shutting down" not in record.details:
                result.in_flight_cut += 1
        else:
            result.after[record.code] += 1
            if record.code == "UNAVAILABLE" and "shutting down" in record.details:
                result.refused_draining += 1
                since = record.ended - t_sig
                result.first_refusal_s = since if result.first_refusal_s is None else min(result.first_refusal_s, since)
    result.not_serving_s = next((t - t_sig for t, status in health if t >= t_sig and status == "NOT_SERVING"), None)
    return result


class SlowUpstream:
    """A loopback HTTP server that lists a model at once but answers every POST only after `delay` s."""

    def __init__(self, delay: float) -> None:
        import http.server
        import threading

        self.delay = delay
        self._stop = threading.Event()
        stop = self._stop

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _json(self, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._json({"object": "list", "data": [{"id": "slow", "object": "model"}]})

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stop.wait(delay)
                self.send_error(503, "slow upstream gave up")

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # the cloud hung up on a request it gave up on: expected here

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> SlowUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


async def upstream_probes(address: str, label: str, timeout: float, expected: tuple[str, ...]) -> list[Check]:
    """Every RPC against an openai-backed cloud whose upstream misbehaves."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.CloudModelStub(channel)
        checks = [await _expect(f"{label}: Info", ("OK",) + expected, _info_record(stub))]
        fingerprint = ""
        try:
            fingerprint = (await info(stub)).vocab_fingerprint
        except grpc.aio.AioRpcError:
            pass
        checks.append(await _expect(f"{label}: Generate", expected, call_generate(stub, PROMPTS[1], 8, timeout)))
        checks.append(await _expect(f"{label}: Sketch", expected, call_sketch(stub, PROMPTS[1], 8, timeout)))
        if fingerprint:
            checks.append(await _expect(f"{label}: Fuse", expected, call_fuse(stub, fingerprint, PROMPTS[1], 1,
                                                                               timeout)))
    return checks


async def _info_record(stub) -> CallRecord:
    started = time.monotonic()
    try:
        await stub.Info(pb.InfoRequest(), timeout=10)
        return CallRecord("Info", "OK", started, time.monotonic())
    except grpc.aio.AioRpcError as exc:
        code, details = _code(exc)
        return CallRecord("Info", code, started, time.monotonic(), 0, details)


def _start(cloud: CloudProcess, timeout: float, checks: list[Check], label: str) -> bool:
    """Start; a cloud that never turns SERVING is a finding (a Check), not a crash."""
    started = time.monotonic()
    try:
        cloud.start(timeout)
        return True
    except CloudStartError as exc:
        checks.append(Check(f"{label}: start", "SERVING", "not serving", time.monotonic() - started, str(exc)))
        return cloud.proc is not None and cloud.proc.poll() is None


def upstream_phase(model: str, settings: LoadSettings, progress: Progress) -> list[Check] | str:
    """(c) upstream down, (d) upstream slow (the openai backend)."""
    checks: list[Check] = []
    openai = {"backend": "openai", "upstream_model": "test", **_secure_off()}
    closed = free_port()
    progress(f"upstream down: openai backend -> http://127.0.0.1:{closed}/v1 (nothing listens)")
    cloud = CloudProcess(model=model, env=_env(settings, **openai, upstream_url=f"http://127.0.0.1:{closed}/v1",
                                                upstream_timeout_s=5))
    try:
        if _start(cloud, 60, checks, "down"):
            checks += asyncio.run(upstream_probes(cloud.address, "down", 20, ("UNAVAILABLE",)))
    finally:
        cloud.stop()
    progress("upstream slow: an upstream that answers after 30 s; client deadline 1 s, then upstream_timeout_s 2 s")
    with SlowUpstream(delay=30) as slow:
        cloud = CloudProcess(model=model, env=_env(settings, **openai, upstream_url=slow.url, upstream_timeout_s=2))
        try:
            if _start(cloud, 60, checks, "slow"):
                checks += asyncio.run(upstream_probes(cloud.address, "slow, 1 s deadline", 1.0,
                                                      ("DEADLINE_EXCEEDED",)))
                # no client deadline to speak of: the server's own upstream timeout must answer
                checks += asyncio.run(upstream_probes(cloud.address, "slow, upstream_timeout_s 2", 20,
                                                      ("DEADLINE_EXCEEDED", "UNAVAILABLE")))
        finally:
            cloud.stop()
    for check in checks:
        if check.ok and check.got != "OK" and "upstream" not in check.details.lower() \
                and check.details != "Deadline Exceeded":
            check.ok = False  # refused, but without saying the upstream is the cause
            check.expected += " + says 'upstream'"
    return checks


# ---------------------------------------------------------------- the whole run


def _secure_off() -> dict[str, str]:
    """Plaintext loopback without tokens, whatever the user's config says (the bench dials 127.0.0.1)."""
    return {"token_file": "", "tls_cert_file": "", "tls_key_file": "", "tls_client_ca_file": ""}


def run(settings: LoadSettings, progress: Progress) -> LoadReport:
    """All phases, each cloud in its own process (stopped on return, error or Ctrl-C)."""
    model = str(resolve_model(settings.model))
    report = LoadReport(settings)
    metrics_port = free_port()
    # room for every client plus the bench's own probes (health, a held session): the
    # phases measure the server, not its call limiter
    common = {"backend": "llama.cpp", "max_concurrent_rpcs": settings.clients + 4, **_secure_off()}

    def phase(name: str, body: Callable[[], None]) -> None:
        try:
            body()
        except grpc.RpcError as exc:  # a status no step of the phase expected: a finding, not a crash
            report.unexpected.append(f"{name}: aborted by {exc.code().name}: {(exc.details() or '')[:150]}")
            progress(f"  {name}: aborted by {exc.code().name}")

    progress(f"starting the cloud ({Path(model).name}) ...")
    with CloudProcess(model=model, env=_env(settings, metrics_port=metrics_port, **common)) as cloud:
        progress(f"load: {settings.clients} clients mixing {', '.join(KINDS)} for {settings.duration_s:g} s")

        def load() -> None:
            report.load, report.load_seconds = asyncio.run(load_phase(cloud.address, settings, progress))

        def cancel() -> None:
            report.cancel = asyncio.run(cancel_phase(cloud.address, settings, metrics_port, progress))

        def deadline() -> None:
            report.deadline = asyncio.run(deadline_phase(cloud.address, settings, progress))

        phase("load", load)
        progress("cancel: clients gone mid-stream")
        phase("cancel", cancel)
        progress("deadline: the embedded backend with tiny deadlines")
        phase("deadline", deadline)
    progress("sigterm: starting a fresh cloud ...")
    with CloudProcess(model=model, env=_env(settings, grace_s=settings.grace_s, **common)) as cloud:

        def sigterm() -> None:
            report.sigterm = asyncio.run(sigterm_phase(cloud, settings, progress))

        phase("sigterm", sigterm)
    report.upstream = upstream_phase(model, settings, progress)
    report.unexpected += judge(report)
    if report.sigterm is not None and report.sigterm.after.get("CLIENT_WRITE_RACE"):
        report.notes.append(
            f"{report.sigterm.after['CLIENT_WRITE_RACE']} new Fuse call(s) refused while draining surfaced as "
            "INTERNAL on the client: the server ends the stream (UNAVAILABLE) before reading the `open` the "
            "client is writing, and grpc.aio reports the failed write as INTERNAL 'Internal error from Core'. "
            "Reading the first message before refusing would let the client see UNAVAILABLE.")
    return report


def _example(examples: dict[str, str], phase: str, code: str) -> str:
    """'Kind: details' of the first call of this phase that ended with `code`."""
    for where, details in examples.items():
        kind_phase, _, got = where.rpartition(" ")
        if got == code and kind_phase.startswith(phase + " "):
            return f"{kind_phase[len(phase) + 1:]}: {details[:150]}"
    return ""


def judge(report: LoadReport) -> list[str]:
    """What did not behave as it should (an empty list: everything did)."""
    problems: list[str] = []
    calls = [r for r in report.load if r.kind in KINDS]
    for kind in KINDS:
        if not any(r.kind == kind and r.code == "OK" for r in calls):
            problems.append(f"load: no {kind} call completed")
    # RESOURCE_EXHAUSTED is the server's answer to more clients than it takes; anything else is a fault
    for code, n in Counter(r.code for r in calls if r.code not in ("OK", "RESOURCE_EXHAUSTED")).items():
        example = next(r for r in calls if r.code == code)
        problems.append(f"load: {n} {example.kind} call(s) ended {code}: {example.details[:150]}")
    for where, details in (report.cancel.errors.items() if report.cancel is not None else ()):
        problems.append(f"cancel: {where}: {details[:150]}")
    if report.cancel is not None and report.cancel.reopened < report.cancel.max_sessions:
        problems.append(f"cancel: only {report.cancel.reopened} of {report.cancel.max_sessions} Fuse sessions "
                        "opened after the cancels (sessions not freed)")
    s = report.sigterm
    if s is not None:
        if not s.in_flight.get("OK"):
            problems.append("sigterm: no in-flight call finished OK")
        for code in (c for c in s.in_flight if c not in ("OK", "UNAVAILABLE")):
            problems.append(f"sigterm: {s.in_flight[code]} in-flight call(s) ended {code}: "
                            f"{_example(s.examples, 'in flight', code)}")
        if s.last_in_flight_s > s.grace_s + 0.5:
            problems.append(f"sigterm: in-flight calls ran {s.last_in_flight_s:.2f} s, past grace {s.grace_s:g} s")
        # CANCELLED: a call that reaches the server in the instant it stops is cancelled by gRPC
        # itself (the client treats it like UNAVAILABLE: retry elsewhere)
        for code in (c for c in s.after if c not in AFTER_SIGTERM_OK):
            problems.append(f"sigterm: {s.after[code]} call(s) started after the signal ended {code}: "
                            f"{_example(s.examples, 'after', code)}")
        if not s.refused_draining:
            problems.append("sigterm: no new call was refused with UNAVAILABLE while draining")
        if s.not_serving_s is None:
            problems.append("sigterm: health never reported NOT_SERVING")
        if s.exit_code != 0:
            problems.append(f"sigterm: exit code {s.exit_code} (None = still running after grace + 20 s)")
    for check in report.deadline + (report.upstream if isinstance(report.upstream, list) else []):
        if not check.ok:
            problems.append(f"{check.name}: expected {check.expected}, got {check.got} ({check.details[:120]})")
    return problems


def seconds_arg(text: str) -> float:
    """An argparse type: a positive number of seconds."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value

"""`tandem bench load`: concurrent clients against a cloud in its own process, then SIGTERM under that load.

N clients mix Generate, Sketch and Fuse sessions (open + a few drafted steps) for
`duration_s`, on loopback only; per RPC kind: completions, errors by status code,
p50/p99 latency, tokens/s. Then the clients start again and, a second later, the cloud
gets SIGTERM while they keep calling: the drain is measured (in-flight calls finish or
are cut at `server.grace_s`, new ones are refused, the process exits 0).

What must hold under faults (dropped clients, SIGTERM, an upstream down or slow,
deadlines shorter than the work) is tested in tests/cloud_service/ (test_shutdown.py,
test_fuse.py, test_server.py, test_upstream.py, test_security.py); this is the measurement.

`run()` returns a `LoadReport`; `load_report.format_report()` renders the tables.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from edge_agent.cloud_process import CloudProcess
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
FUSE_STEPS = 3  # drafted steps per Fuse session
FUSE_DRAFT = 3  # draft tokens per step
TOP_K = 5
AFTER_SIGTERM_OK = ("UNAVAILABLE", "CANCELLED", "CLIENT_WRITE_RACE")  # statuses of calls started after SIGTERM


@dataclass
class LoadSettings:
    """What `tandem bench load` runs; the defaults are the command's."""

    model: str = "smollm2-135m"
    duration_s: float = 20.0  # of the load (the SIGTERM drain comes after it)
    clients: int = 16
    max_tokens: int = 16  # per Generate / Sketch (short outputs)
    max_sessions: int = 8  # server.max_sessions of the cloud under test
    grace_s: float = 5.0  # server.grace_s: how long the SIGTERM drain may take
    n_ctx: int = 2048
    n_threads: int = 1  # llama.cpp threads of the cloud: the clients need a core too (0 = all cores)
    call_timeout_s: float = 60.0  # deadline of each call


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
        """How long the call took."""
        return self.ended - self.started


@dataclass
class DrainResult:
    """SIGTERM at the end of the load, as the clients saw it."""

    grace_s: float = 0.0
    in_flight: Counter = field(default_factory=Counter)  # started before, ended after the signal
    last_in_flight_s: float = 0.0  # signal -> the last in-flight call ended OK
    after: Counter = field(default_factory=Counter)  # calls started after the signal
    refused_draining: int = 0  # UNAVAILABLE "shutting down" from the draining server
    examples: dict[str, str] = field(default_factory=dict)  # "phase Kind CODE" -> the first details seen
    exit_s: float | None = None
    exit_code: int | None = None


@dataclass
class LoadReport:
    """Everything one run measured."""

    settings: LoadSettings
    load: list[CallRecord] = field(default_factory=list)
    load_seconds: float = 0.0
    drain: DrainResult | None = None
    unexpected: list[str] = field(default_factory=list)  # problems; empty = all behaved


# ---------------------------------------------------------------- clients


# grpc.aio reports a write that raced the server ending the stream as INTERNAL "Internal error
# from Core" (grpc/aio/_call.py: set_internal_error), and the server's own status is lost.
WRITE_RACE = "Internal error from Core (the client's write raced the server ending the stream)"


def _code(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, grpc.aio.AioRpcError):
        if exc.details() == WRITE_RACE:
            return "CLIENT_WRITE_RACE", WRITE_RACE
        return exc.code().name, exc.details() or ""
    if isinstance(exc, TimeoutError):
        return "CLIENT_TIMEOUT", "no answer within the client's own timeout"
    return type(exc).__name__, str(exc)


async def call_generate(stub, prompt: str, max_tokens: int, timeout: float, seed: int = 0) -> CallRecord:
    """One Generate call read to its end."""
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
    """One Sketch call."""
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
        """Write one message, read its answer; the server's status if it ended the stream."""
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
        """Open the session."""
        return await self.send(pb.FuseRequest(open=pb.FuseOpen(vocab_fingerprint=fingerprint, prompt=prompt,
                                                               top_k=TOP_K)))

    async def step(self, keep: int, ids: list[int], drafts: list[int]) -> pb.FuseResponse:
        """Keep drafts, append tokens, send new drafts."""
        return await self.send(pb.FuseRequest(step=pb.FuseStep(keep=keep, append=[pb.FuseAppend(ids=ids)],
                                                               draft_ids=drafts)))

    async def close(self) -> grpc.StatusCode:
        """End the stream; the server's final status."""
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
    """The cloud's Info."""
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


# ---------------------------------------------------------------- the run


def _env(settings: LoadSettings, **server: object) -> dict[str, str]:
    """The child's environment: ServerConfig keys as TANDEM_SERVER_<KEY>."""
    env = dict(os.environ)
    values = {"n_ctx": settings.n_ctx, "n_threads": settings.n_threads, "max_sessions": settings.max_sessions,
              **server}
    for key, value in values.items():
        env[f"TANDEM_SERVER_{key.upper()}"] = str(value)
    return env


async def load_and_drain(cloud: CloudProcess, settings: LoadSettings, progress: Progress) -> LoadReport:
    """Clients call back to back for `duration_s`; then again, and SIGTERM while they go on, until the process exits."""
    assert cloud.proc is not None
    report = LoadReport(settings, drain=DrainResult(grace_s=settings.grace_s))
    async with grpc.aio.insecure_channel(cloud.address) as channel:
        fingerprint = (await info(pb_grpc.CloudModelStub(channel))).vocab_fingerprint

    def clients(until: Callable[[], bool], records: list[CallRecord]) -> list[asyncio.Task]:
        return [asyncio.create_task(client_loop(i, cloud.address, fingerprint, settings, until, records))
                for i in range(settings.clients)]

    started = time.monotonic()
    end = started + settings.duration_s
    tick = asyncio.create_task(ticker("load", started, settings.duration_s, report.load, progress))
    try:
        await asyncio.gather(*clients(lambda: time.monotonic() >= end, report.load))
    finally:
        tick.cancel()
    report.load_seconds = time.monotonic() - started

    records: list[CallRecord] = []
    stop_at = [float("inf")]
    tasks = clients(lambda: time.monotonic() >= stop_at[0], records)
    try:
        await asyncio.sleep(1.0)  # every client has a call in flight
        progress(f"  SIGTERM under load (grace {settings.grace_s:g} s)")
        cloud.proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        try:
            report.drain.exit_code = await asyncio.to_thread(cloud.proc.wait, settings.grace_s + 20)
            report.drain.exit_s = time.monotonic() - signalled
        except subprocess.TimeoutExpired:
            pass
        stop_at[0] = time.monotonic() + 0.3  # a last round of calls against the closed port
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
    _classify(report.drain, [r for r in records if r.ended >= signalled and r.kind != "Fuse round trip"], signalled)
    return report


def _classify(drain: DrainResult, records: list[CallRecord], signalled: float) -> None:
    for record in records:
        phase = "in flight" if record.started < signalled else "after"
        if record.code != "OK":
            drain.examples.setdefault(f"{phase} {record.kind} {record.code}",
                                      f"{record.details} (ended at +{record.ended - signalled:.2f} s)")
        if phase == "in flight":
            drain.in_flight[record.code] += 1
            if record.code == "OK":
                drain.last_in_flight_s = max(drain.last_in_flight_s, record.ended - signalled)
        else:
            drain.after[record.code] += 1
            drain.refused_draining += record.code == "UNAVAILABLE" and "shutting down" in record.details


def _secure_off() -> dict[str, str]:
    """Plaintext loopback without tokens, whatever the user's config says (the bench dials 127.0.0.1)."""
    return {"token_file": "", "tls_cert_file": "", "tls_key_file": "", "tls_client_ca_file": ""}


def run(settings: LoadSettings, progress: Progress) -> LoadReport:
    """Start the cloud in its own process, load it, SIGTERM it; stopped on return, error or Ctrl-C."""
    model = str(resolve_model(settings.model))
    # room for every client plus the bench's own Info call: the run measures the server, not its call limiter
    env = _env(settings, backend="llama.cpp", max_concurrent_rpcs=settings.clients + 4, grace_s=settings.grace_s,
               **_secure_off())
    progress(f"starting the cloud ({Path(model).name}) ...")
    with CloudProcess(model=model, env=env) as cloud:
        progress(f"load: {settings.clients} clients mixing {', '.join(KINDS)} for {settings.duration_s:g} s")
        report = asyncio.run(load_and_drain(cloud, settings, progress))
    report.unexpected = judge(report)
    return report


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
    d = report.drain
    if d is not None:
        # UNAVAILABLE in flight: queued work cut when the grace period ran out
        for code in (c for c in d.in_flight if c not in ("OK", "UNAVAILABLE")):
            problems.append(f"SIGTERM: {d.in_flight[code]} in-flight call(s) ended {code}")
        if d.last_in_flight_s > d.grace_s + 0.5:
            problems.append(f"SIGTERM: in-flight calls ran {d.last_in_flight_s:.2f} s, past grace {d.grace_s:g} s")
        for code in (c for c in d.after if c not in AFTER_SIGTERM_OK):
            problems.append(f"SIGTERM: {d.after[code]} call(s) started after the signal ended {code}")
        if d.exit_code != 0:
            problems.append(f"SIGTERM: exit code {d.exit_code} (None = still running after grace + 20 s)")
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

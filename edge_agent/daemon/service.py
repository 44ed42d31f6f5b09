"""The local API's handlers: Status, Ask (streamed, recorded in the store), Cancel."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import grpc

from edge_agent.agent import Answer, EdgeAgent
from edge_agent.cloud_client import CloudClient, CloudError, PrivacyViolation
from edge_agent.config import STRATEGIES, Config
from edge_agent.context import PrivateContext
from edge_agent.daemon.monitor import OFFLINE, CloudMonitor
from edge_agent.local_model import PromptTooLong
from edge_agent.models import ModelError
from edge_agent.privacy import PrivacyGuard
from edge_agent.store import AnswerRecorder, Store, StoreError
from edge_agent.strategies import AnswerReport, AskRequest, StrategyRefused
from protos import edge_local_pb2 as pb
from protos import edge_local_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

OFFLINE_CONNECT_TIMEOUT_S = 0.5  # when the monitor knows the cloud is away, fall back almost at once


class DaemonAgent(EdgeAgent):
    """The edge agent, aware of the cloud monitor: quick fallback while the cloud is offline."""

    def __init__(self, config: Config, monitor: CloudMonitor) -> None:
        super().__init__(config)
        self.monitor = monitor

    def cloud_client(self, guard: PrivacyGuard, request_id: str) -> CloudClient:
        client = super().cloud_client(guard, request_id)
        if self.monitor.state.state == OFFLINE:
            # Still try (the cloud may be back before the monitor's next probe), but briefly.
            client.connect_timeout_s = min(client.connect_timeout_s, OFFLINE_CONNECT_TIMEOUT_S)
        return client


@dataclass
class DaemonState:
    """What the handlers share: the models, the store, the monitor and the running answers."""

    config: Config
    socket_path: Path
    store: Store
    monitor: CloudMonitor
    agent: DaemonAgent
    started: float = field(default_factory=time.monotonic)
    ready: threading.Event = field(default_factory=threading.Event)
    error: str = ""
    load_s: float = 0.0
    active: dict[str, tuple[Answer, AnswerRecorder]] = field(default_factory=dict)

    def load(self) -> None:
        """Load the edge model and the embedder (once); then the daemon is ready."""
        start = time.monotonic()
        try:
            self.agent.edge_model
            self.store.embedder.load()
        except (ModelError, OSError, ValueError, RuntimeError) as exc:
            self.error = f"cannot load the models: {exc}"
            log.error("%s", self.error)
        else:
            self.load_s = time.monotonic() - start
            log.info("ready: %s loaded in %.1fs", self.config.edge.model, self.load_s)
        self.ready.set()

    def cancel(self, request_id: str, reason: str) -> bool:
        """Stop a running answer at its next token; its text so far stays, labelled with `reason`."""
        running = self.active.get(request_id)
        if running is None:
            return False
        answer, recorder = running
        recorder.cancel_reason = reason
        answer.cancel()
        return True

    def cancel_all(self, reason: str) -> None:
        for request_id in list(self.active):
            self.cancel(request_id, reason)


class EdgeLocalServicer(pb_grpc.EdgeLocalServicer):
    def __init__(self, state: DaemonState) -> None:
        self.state = state

    def Status(self, request: pb.StatusRequest, context: grpc.ServicerContext) -> pb.StatusResponse:
        s = self.state
        cloud = s.monitor.state
        counts = s.store.stats()
        return pb.StatusResponse(
            state="error" if s.error else ("ready" if s.ready.is_set() else "loading"),
            error=s.error, model=s.config.edge.model,
            cloud=cloud.state, cloud_address=s.monitor.address, cloud_detail=cloud.detail,
            pid=os.getpid(), uptime_s=time.monotonic() - s.started, load_s=s.load_s,
            socket=str(s.socket_path), store=str(s.store.path),
            items=counts["items"], conversations=counts["conversations"], active_requests=len(s.active),
        )

    def Cancel(self, request: pb.CancelRequest, context: grpc.ServicerContext) -> pb.CancelResponse:
        return pb.CancelResponse(found=self.state.cancel(request.request_id, "cancelled"))

    def Ask(self, request: pb.AskRequest, context: grpc.ServicerContext) -> Iterator[pb.AskEvent]:
        s = self.state
        _validate(request, context)
        remaining = context.time_remaining()
        if not s.ready.wait(timeout=remaining if remaining is not None and remaining < 1e6 else None):
            context.abort(grpc.StatusCode.UNAVAILABLE, "the daemon is still loading its models; try again shortly")
        if s.error:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, s.error)
        try:
            if request.has_context:
                private = PrivateContext(text=request.context_text, source=request.context_source)
            else:
                private = s.store.context_for(request.instruction, k=s.config.daemon.retrieval_k)
            answer = s.agent.ask(AskRequest(
                instruction=request.instruction, context=private, strategy=request.strategy,
                max_tokens=request.max_tokens, temperature=request.temperature, seed=request.seed,
            ))
            recorder = AnswerRecorder(s.store, request.conversation_id or None, request.instruction)
        except StoreError as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        report = answer.report
        s.active[report.request_id] = (answer, recorder)
        # Runs when the call ends; if the answer is still running, the client went away: stop it.
        context.add_callback(lambda: s.cancel(report.request_id, "the client went away"))
        try:
            yield pb.AskEvent(started=pb.Started(
                request_id=report.request_id, conversation_id=recorder.conversation_id,
                message_id=recorder.answer_message.id, context_source=private.source,
            ))
            for piece in recorder.record(answer, private.source):
                yield pb.AskEvent(text=piece)
            yield pb.AskEvent(report=report_message(report))
        except (StrategyRefused, PrivacyViolation) as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        except PromptTooLong as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except CloudError as exc:  # one the strategy could not fall back from
            context.abort(grpc.StatusCode.ABORTED, str(exc))
        finally:
            s.active.pop(report.request_id, None)
            if report.fallback:
                s.monitor.poke()


def _validate(request: pb.AskRequest, context: grpc.ServicerContext) -> None:
    problem = ""
    if not request.instruction.strip():
        problem = "the instruction is empty: say what to write"
    elif request.strategy not in STRATEGIES:
        problem = f"unknown strategy '{request.strategy}' (known: {', '.join(STRATEGIES)})"
    elif request.max_tokens < 1:
        problem = "max_tokens must be at least 1"
    elif not 0.0 <= request.temperature <= 2.0:
        problem = "temperature must be between 0 and 2"
    if problem:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)


def report_message(report: AnswerReport) -> pb.Report:
    return pb.Report(
        request_id=report.request_id, strategy=report.strategy, answered_by=report.answered_by,
        fallback=report.fallback, context_sent=report.context_sent, sketch=report.sketch,
        rpcs=report.wire.rpcs, bytes_up=report.wire.bytes_up, bytes_down=report.wire.bytes_down,
        edge_tokens=report.edge_tokens, first_text_s=report.first_text_s or 0.0, total_s=report.total_s or 0.0,
        cancelled=report.cancel.is_set(), has_score=report.score is not None, score=report.score or 0.0,
        verdict=report.verdict or "", chosen=report.chosen,
    )

"""The local API's handlers: Status, Ask (streamed, recorded in the store), Cancel."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from edge_agent.agent import EdgeAgent
from edge_agent.cloud_client import CloudClient, CloudError, PrivacyViolation
from edge_agent.config import Config
from edge_agent.context import ContextError, PrivateContext
from edge_agent.daemon.monitor import OFFLINE, CloudMonitor
from edge_agent.local_model import PromptTooLong
from edge_agent.privacy import PrivacyGuard
from edge_agent.service import AnswerService, Turn
from edge_agent.store import Store, StoreError
from edge_agent.strategies import STRATEGIES, AskRequest, StrategyRefused
from edge_agent.strategies.report import AnswerReport, report_to_dict
from protos import edge_local_pb2 as pb
from protos import edge_local_pb2_grpc as pb_grpc
from runtime.models import ModelError

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
    active: dict[str, Turn] = field(default_factory=dict)

    @property
    def service(self) -> AnswerService:
        return AnswerService(self.config, self.store, self.agent)

    def load(self) -> None:
        """Load the edge model and the embedder (once); then the daemon is ready."""
        start = time.monotonic()
        try:
            self.service.load()
            if self.config.privacy.recognizer:  # so that no request waits ~5 s for spaCy
                from edge_agent.privacy.recognizer import preload

                preload(self.config.privacy.spacy_model)
        except (ModelError, OSError, ValueError, RuntimeError) as exc:
            self.error = f"cannot load the models: {exc}"
            log.error("%s", self.error)
        else:
            self.load_s = time.monotonic() - start
            log.info("ready: %s loaded in %.1fs", self.config.edge.model, self.load_s)
        self.ready.set()

    def cancel(self, request_id: str, reason: str) -> bool:
        """Stop a running answer at its next token; its text so far stays, labelled with `reason`."""
        turn = self.active.get(request_id)
        if turn is None:
            return False
        turn.cancel(reason)
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
            cached_states=s.agent.edge.cache.stats.entries, cached_bytes=s.agent.edge.cache.stats.bytes,
        )

    def Cancel(self, request: pb.CancelRequest, context: grpc.ServicerContext) -> pb.CancelResponse:
        return pb.CancelResponse(found=self.state.cancel(request.request_id, "cancelled"))

    def Ask(self, request: pb.AskRequest, context: grpc.ServicerContext) -> Iterator[pb.AskEvent]:
        s = self.state
        ask = AskRequest(
            instruction=request.instruction, strategy=request.strategy, max_tokens=request.max_tokens,
            temperature=request.temperature, seed=request.seed,
            context=PrivateContext(text=request.context_text, source=request.context_source)
            if request.has_context else PrivateContext(),
        )
        conversation_id = request.conversation_id or None
        edit_of = request.edit_of or None
        try:
            s.service.check(ask, conversation_id, edit_of)
        except ContextError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except StrategyRefused as exc:  # unknown: a bad request; known but opt-in and off: a precondition
            known = request.strategy in STRATEGIES
            context.abort(grpc.StatusCode.FAILED_PRECONDITION if known else grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except StoreError as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        remaining = context.time_remaining()
        if not s.ready.wait(timeout=remaining if remaining is not None and remaining < 1e6 else None):
            context.abort(grpc.StatusCode.UNAVAILABLE, "the daemon is still loading its models; try again shortly")
        if s.error:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, s.error)
        try:
            turn = s.service.start(ask, conversation_id, edit_of)
        except StoreError as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        report = turn.report
        s.active[turn.request_id] = turn
        # Runs when the call ends; if the answer is still running, the client went away: stop it.
        context.add_callback(lambda: s.cancel(turn.request_id, "the client went away"))
        try:
            yield pb.AskEvent(started=pb.Started(
                request_id=turn.request_id, conversation_id=turn.conversation_id,
                message_id=turn.message_id, context_source=turn.context_source,
                user_message_id=turn.user_message_id,
            ))
            for piece in turn:
                yield pb.AskEvent(text=piece)
            yield pb.AskEvent(report=report_message(report))
        except (StrategyRefused, PrivacyViolation) as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        except PromptTooLong as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except CloudError as exc:  # one the strategy could not fall back from
            context.abort(grpc.StatusCode.ABORTED, str(exc))
        finally:
            s.active.pop(turn.request_id, None)
            if report.fallback:
                s.monitor.poke()


def report_message(report: AnswerReport) -> pb.Report:
    """The report for the socket: the store's codec, as JSON (lossless)."""
    return pb.Report(json=json.dumps(report_to_dict(report)))

"""Talk to a running daemon over its unix socket (used by `tandem ask` and the TUI).

    client = DaemonClient()                   # the socket from the config
    if client.available():
        for event in client.ask(AskRequest("Email my landlord")):
            if event.kind == "text":
                print(event.text, end="")
            elif event.kind == "report":
                print(event.report.summary())

An `AskRequest` with an empty context asks the daemon to build the context from its
store (profile + retrieved chunks); a non-empty one is used as given.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc

from edge_agent.strategies import AskRequest
from edge_agent.strategies.report import AnswerReport, report_from_dict
from protos import edge_local_pb2 as pb
from protos import edge_local_pb2_grpc as pb_grpc
from runtime.errors import UserError

STATUS_TIMEOUT_S = 2.0


class DaemonError(UserError, RuntimeError):
    """The daemon refused a request or cannot be reached; the message says why."""


@dataclass(frozen=True)
class DaemonEvent:
    """One event of an answer: "started" (ids), "text" (a piece), then "report" (the last one)."""

    kind: str  # "started" | "text" | "report"
    text: str = ""
    report: AnswerReport | None = None
    request_id: str = ""
    conversation_id: int = 0
    message_id: int = 0  # the assistant message the daemon is writing
    context_source: str = ""
    user_message_id: int = 0  # the user's instruction of this turn


class DaemonClient:
    """A connection to the daemon's socket. Cheap to create; `close()` (or `with`) when done."""

    def __init__(self, socket_path: Path | None = None) -> None:
        if socket_path is None:
            from edge_agent.config import load_config

            socket_path = load_config().daemon.socket_path()
        self.socket_path = Path(socket_path)
        self._channel = grpc.insecure_channel(f"unix:{self.socket_path}")
        self._stub = pb_grpc.EdgeLocalStub(self._channel)

    def available(self) -> bool:
        """True when a daemon answers on the socket (loading or ready)."""
        if not self.socket_path.exists():
            return False
        try:
            self._stub.Status(pb.StatusRequest(), timeout=STATUS_TIMEOUT_S)
        except grpc.RpcError:
            return False
        return True

    def status(self) -> dict:
        """state (loading/ready/error), model, cloud (connected/offline/degraded/unknown), pid, ..."""
        try:
            reply = self._stub.Status(pb.StatusRequest(), timeout=STATUS_TIMEOUT_S)
        except grpc.RpcError as exc:
            raise _error(exc, self.socket_path) from None
        return {f.name: getattr(reply, f.name) for f in reply.DESCRIPTOR.fields}

    def ask(self, request: AskRequest, conversation_id: int | None = None,
            edit_of: int | None = None) -> Iterator[DaemonEvent]:
        """Stream an answer (in `conversation_id`, with its earlier turns; `edit_of`: in place of that
        earlier instruction, on a new branch). Leaving the loop early cancels it; the text so far stays."""
        message = pb.AskRequest(
            instruction=request.instruction, strategy=request.strategy, max_tokens=request.max_tokens,
            temperature=request.temperature, seed=request.seed, conversation_id=conversation_id or 0,
            edit_of=edit_of or 0,
            has_context=bool(request.context), context_text=request.context.text,
            context_source=request.context.source,
        )
        call = self._stub.Ask(message)
        try:
            for event in call:
                yield _event(event)
        except grpc.RpcError as exc:
            raise _error(exc, self.socket_path) from None
        finally:
            call.cancel()  # no-op when finished; stops the generation when the caller left early

    def cancel(self, request_id: str) -> bool:
        """Stop a running answer; False if no answer with that id is running."""
        try:
            return self._stub.Cancel(pb.CancelRequest(request_id=request_id), timeout=STATUS_TIMEOUT_S).found
        except grpc.RpcError as exc:
            raise _error(exc, self.socket_path) from None

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> DaemonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _event(event: pb.AskEvent) -> DaemonEvent:
    which = event.WhichOneof("event")
    if which == "text":
        return DaemonEvent("text", text=event.text)
    if which == "started":
        s = event.started
        return DaemonEvent("started", request_id=s.request_id, conversation_id=s.conversation_id,
                           message_id=s.message_id, context_source=s.context_source,
                           user_message_id=s.user_message_id)
    report = report_from_dict(json.loads(event.report.json))
    return DaemonEvent("report", report=report, request_id=report.request_id)


def _error(exc: grpc.RpcError, socket_path: Path) -> DaemonError:
    code = exc.code() if hasattr(exc, "code") else None
    if code == grpc.StatusCode.UNAVAILABLE and "loading" not in (exc.details() or ""):
        return DaemonError(f"the daemon on {socket_path} is not answering (`tandem daemon start` starts it)")
    if code == grpc.StatusCode.CANCELLED:
        return DaemonError("the answer was cancelled")
    return DaemonError(exc.details() or str(code))


def running_daemon(socket_path: Path, model: str | None = None, cloud: str | None = None) -> DaemonClient | None:
    """A client for the daemon on `socket_path` if one runs and would answer as asked, else None.

    The daemon answers with its own edge model and cloud: a different `model` or `cloud`
    asked for on the command line means answering in process instead.
    """
    client = DaemonClient(socket_path)
    if client.available():
        status = client.status()
        if (model is None or model == status["model"]) and (cloud is None or cloud == status["cloud_address"]):
            return client
    client.close()
    return None

"""The chat backend when the edge daemon runs: answers come over its unix socket.

The daemon writes each answer into the store itself (the same SQLite file the chat
reads), holds the models, and watches the cloud; the chat asks it for status and
streams answers. Conversations and context are read and edited in the store directly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edge_agent.config import Config
from edge_agent.context import PrivateContext
from edge_agent.daemon.client import DaemonClient, DaemonError, running_daemon
from edge_agent.privacy import AuditEntry, AuditLog
from edge_agent.store import Store
from edge_agent.strategies import AskRequest
from tui.backend import ModelState, StateCallback, StrategyInfo, model_label, strategy_infos

POLL_S = 0.5  # how often to ask a loading daemon whether it is ready


class DaemonBackend:
    mode = "daemon"

    def __init__(self, config: Config, client: DaemonClient, store: Store | None = None) -> None:
        self.config = config
        self.client = client
        status = client.status()
        self.store = store or Store(Path(status["store"]) if status.get("store") else config.daemon.store_path())
        self._state = _model_state(status)

    @classmethod
    def connect(cls, config: Config, model: str | None = None, cloud: str | None = None) -> DaemonBackend | None:
        """The daemon's backend if one runs (with this model and cloud, when given), else None."""
        client = running_daemon(config.daemon.socket_path(), model=model, cloud=cloud)
        if client is None:
            return None
        try:
            return cls(config, client)
        except DaemonError:  # it went away between the two calls
            client.close()
            return None

    def strategies(self) -> list[StrategyInfo]:
        return strategy_infos(self.config)

    def load_models(self, on_state: StateCallback | None = None) -> None:
        report = on_state or (lambda state: None)
        reported = None
        while True:
            state = self._state = _model_state(self.client.status())
            if state != reported:
                report(state)
                reported = state
            if state.state == "ready":
                return
            if state.state == "error":
                raise DaemonError(f"the daemon could not load its models: {state.detail}")
            time.sleep(POLL_S)

    def model_state(self) -> ModelState:
        return self._state

    def cloud_status(self) -> str:
        """The daemon's view of the cloud; also refreshes the model state (the daemon may have gone)."""
        try:
            status = self.client.status()
        except DaemonError as exc:
            self._state = ModelState(self._state.name, "error", str(exc))
            return "unknown"
        self._state = _model_state(status)
        return status.get("cloud", "unknown")

    def ask(self, conversation_id: int, instruction: str, strategy: str, edit_of: int | None = None) -> DaemonTurn:
        return DaemonTurn(self, conversation_id, instruction, strategy, edit_of)

    def audit_entries(self, request_id: str) -> list[AuditEntry]:
        # The daemon appends to the audit log of the same configuration (same XDG data dir).
        return AuditLog(self.config.privacy.audit_path()).entries(request_id=request_id) if request_id else []

    def close(self) -> None:
        self.client.close()
        self.store.close()


class DaemonTurn:
    """One answer streamed from the daemon, which records it in the store as it goes."""

    def __init__(self, backend: DaemonBackend, conversation_id: int, instruction: str, strategy: str,
                 edit_of: int | None = None) -> None:
        self.backend = backend
        self.conversation_id = conversation_id
        self.instruction = instruction
        self.strategy = strategy
        self.edit_of = edit_of
        self.user_message_id = 0
        self.meta: dict[str, Any] = {"strategy": strategy}
        self.complete = False
        self.request_id = ""
        self.message_id = 0
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()
        if self.request_id:
            try:
                self.backend.client.cancel(self.request_id)
            except DaemonError:
                pass  # it finished (or the daemon went away) meanwhile: nothing left to stop

    def pieces(self) -> Iterator[str]:
        edge = self.backend.config.edge
        request = AskRequest(  # an empty context: the daemon retrieves from its store
            instruction=self.instruction, context=PrivateContext(), strategy=self.strategy,
            max_tokens=edge.max_tokens, temperature=edge.temperature, seed=edge.seed,
        )
        count, report = 0, None
        try:
            for event in self.backend.client.ask(request, conversation_id=self.conversation_id, edit_of=self.edit_of):
                if event.kind == "started":
                    self.request_id, self.message_id = event.request_id, event.message_id
                    self.user_message_id = event.user_message_id
                    self.meta = {"strategy": self.strategy, "request_id": event.request_id}
                    if self._cancelled.is_set():
                        self.cancel()
                elif event.kind == "text" and event.text:
                    count += 1
                    yield event.text
                elif event.kind == "report":
                    report = event.report
        except DaemonError as exc:
            self.meta = {**self._stored_meta(), "error": str(exc)}
            raise
        self.meta = {**self._stored_meta(), "pieces": count}
        self.complete = report is not None and not report.cancel.is_set()

    def _stored_meta(self) -> dict[str, Any]:
        """What the daemon recorded with the answer (report, interruption), or what we know."""
        if self.message_id:
            try:
                return dict(self.backend.store.get_message(self.message_id).meta)
            except Exception:  # the store cannot be read: show what the stream said
                pass
        return dict(self.meta)


def _model_state(status: dict[str, Any]) -> ModelState:
    state = status.get("state", "loading")
    return ModelState(model_label(str(status.get("model", ""))), state, str(status.get("error", "")),
                      progress=1.0 if state == "ready" else None)

"""Where the chat's answers come from: the daemon if one runs, else the edge agent in this process.

Both backends share one contract (`ChatBackend`): load the models, answer a turn of a
conversation as a stream of text pieces (`ChatTurn`), say how the cloud is doing, and
hand out the private store (conversations, notes, documents) and the audit log. The
store is the same SQLite file in both cases (it is safe for several processes), so the
chat reads and edits conversations and context directly; only answering differs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from edge_agent.config import CloudConfig, Config
from edge_agent.privacy import AuditEntry, AuditLog
from edge_agent.store import Store
from edge_agent.store.conversations import INTERRUPTED
from edge_agent.strategies import STRATEGIES, AskRequest

if TYPE_CHECKING:
    from edge_agent.service import Turn

# What the health probe's answer means for the status bar.
CLOUD_STATES = {"SERVING": "connected", "UNREACHABLE": "offline"}  # anything else: "degraded"


@dataclass(frozen=True)
class StrategyInfo:
    """A strategy as the picker shows it."""

    name: str
    description: str
    enabled: bool = True
    opt_in: bool = False  # sends private notes (or text derived from them) to the cloud


@dataclass(frozen=True)
class ModelState:
    """The edge model as the status bar shows it."""

    name: str
    state: str = "not loaded"  # "not loaded" | "loading" | "ready" | "error"
    detail: str = ""  # the error message, or what is loading
    progress: float | None = None  # 0..1 when known


StateCallback = Callable[[ModelState], None]


class ChatTurn(Protocol):
    """One answer being written. Iterate `pieces()` in a worker thread; `meta` is final after it."""

    meta: dict[str, Any]  # see tui/badges.py
    complete: bool  # False if it was cancelled or failed
    user_message_id: int  # the instruction's message in the store, once the turn started (0 before)

    def pieces(self) -> Iterator[str]: ...

    def cancel(self) -> None: ...


class ChatBackend(Protocol):
    mode: str  # "in-process" or "daemon", shown in the status bar
    config: Config
    store: Store

    def strategies(self) -> list[StrategyInfo]: ...

    def load_models(self, on_state: StateCallback | None = None) -> None:
        """Block until the models are ready (raises on failure), reporting each state change.

        Safe to call more than once and from several threads."""

    def model_state(self) -> ModelState: ...

    def cloud_status(self) -> str:
        """'connected', 'offline' or 'degraded' (blocking: a health probe)."""

    def ask(self, conversation_id: int, instruction: str, strategy: str, edit_of: int | None = None) -> ChatTurn:
        """Return the answer to stream into the conversation (nothing runs until iterated); the model
        is given the conversation's earlier turns. `edit_of`: in place of that earlier instruction,
        on a new branch."""

    def audit_entries(self, request_id: str) -> list[AuditEntry]: ...

    def close(self) -> None: ...


def strategy_infos(config: Config) -> list[StrategyInfo]:
    """Every registered strategy, in registration order, so new ones appear by themselves."""
    return [StrategyInfo(name=s.name, description=s.description, opt_in=bool(s.opt_in), enabled=s.enabled(config))
            for s in STRATEGIES.values()]


def probe_cloud(address: str, cloud: CloudConfig | None = None) -> str:
    """'connected' / 'offline' / 'degraded' from the cloud's gRPC health service (`cloud`: TLS settings)."""
    from edge_agent.cloud_process import health_status

    return CLOUD_STATES.get(health_status(address, timeout=1.0, cloud=cloud), "degraded")


def model_label(model: str) -> str:
    """A catalog name as is; a path to a GGUF file by its file name."""
    return Path(model).name if ("/" in model or model.endswith(".gguf")) else model


class InProcessBackend:
    """The edge agent and the store in this process (what `tandem ask` does, for a whole chat)."""

    mode = "in-process"

    def __init__(self, config: Config, store: Store | None = None, agent: Any | None = None) -> None:
        from edge_agent.agent import EdgeAgent
        from edge_agent.service import AnswerService

        self.config = config
        self.store = store or Store(config.daemon.store_path())
        self._owns_store = store is None
        self.agent = agent or EdgeAgent(config)
        self._owns_agent = agent is None
        self.service = AnswerService(config, self.store, self.agent)
        self._load_lock = threading.Lock()
        self._state = ModelState(model_label(config.edge.model))
        self._last_cloud_fallback = False  # the latest answer that used the cloud had to fall back

    def strategies(self) -> list[StrategyInfo]:
        return strategy_infos(self.config)

    def load_models(self, on_state: StateCallback | None = None) -> None:
        report = on_state or (lambda state: None)
        with self._load_lock:
            if self._state.state != "ready":
                self._set_state(ModelState(self._state.name, "loading", f"edge model {self._state.name}"), report)
                try:
                    self.agent.load()
                except Exception as exc:
                    self._set_state(ModelState(self._state.name, "error", str(exc)), report)
                    raise
                self._set_state(ModelState(self._state.name, "ready", progress=1.0), report)
            else:
                report(self._state)

    def _set_state(self, state: ModelState, report: StateCallback) -> None:
        self._state = state
        report(state)

    def model_state(self) -> ModelState:
        return self._state

    def cloud_status(self) -> str:
        status = probe_cloud(self.config.cloud.address, self.config.cloud)
        if status == "connected" and self._last_cloud_fallback:
            return "degraded"  # it answers health checks but not our requests (e.g. too slow)
        return status

    def ask(self, conversation_id: int, instruction: str, strategy: str, edit_of: int | None = None) -> InProcessTurn:
        return InProcessTurn(self, conversation_id, instruction, strategy, edit_of)

    def audit_entries(self, request_id: str) -> list[AuditEntry]:
        return AuditLog(self.config.privacy.audit_path()).entries(request_id=request_id) if request_id else []

    def note_cloud_outcome(self, meta: dict[str, Any]) -> None:
        """Remember whether the latest answer that used the cloud had to fall back (for the status bar)."""
        if (meta.get("wire") or {}).get("rpcs") or meta.get("fallback"):
            self._last_cloud_fallback = bool(meta.get("fallback"))

    def close(self) -> None:
        with self._load_lock:  # not while the model is loading: it would be left open
            if self._owns_agent:
                self.agent.close()
        if self._owns_store:
            self.store.close()


class InProcessTurn:
    """One answer from the answer service in this process, written to the store as it streams."""

    def __init__(self, backend: InProcessBackend, conversation_id: int, instruction: str, strategy: str,
                 edit_of: int | None = None) -> None:
        self.backend = backend
        self.conversation_id = conversation_id
        self.instruction = instruction
        self.strategy = strategy
        self.edit_of = edit_of
        self.meta: dict[str, Any] = {"strategy": strategy}
        self.complete = False
        self.user_message_id = 0
        self._cancelled = threading.Event()
        self._turn: Turn | None = None

    def cancel(self) -> None:
        self._cancelled.set()
        if self._turn is not None:
            self._turn.cancel()

    def pieces(self) -> Iterator[str]:
        backend = self.backend
        edge = backend.config.edge
        request = AskRequest(instruction=self.instruction, strategy=self.strategy,  # context: from the store
                             max_tokens=edge.max_tokens, temperature=edge.temperature, seed=edge.seed)
        try:
            turn = self._turn = backend.service.start(request, self.conversation_id, self.edit_of)  # records the user's turn
            self.user_message_id = turn.user_message_id
        except Exception as exc:
            self.meta = {"strategy": self.strategy, "error": str(exc) or type(exc).__name__}
            raise
        try:
            backend.load_models()
        except Exception as exc:  # the turn stays in the conversation, with the reason
            self.meta = {"strategy": self.strategy, "error": str(exc) or type(exc).__name__}
            backend.store.mark_interrupted(turn.message_id, f"error: {self.meta['error']}", self.meta)
            raise
        if self._cancelled.is_set():
            turn.cancel()
        self.meta = {"strategy": self.strategy, "request_id": turn.request_id}
        count, error = 0, ""
        try:
            for piece in turn:
                count += 1
                yield piece
        except Exception as exc:
            error = str(exc) or type(exc).__name__
            raise
        finally:
            self._finish(turn, count, error)

    def _finish(self, turn: Turn, pieces: int, error: str) -> None:
        """Add what the report does not hold (piece count, error) to the stored meta."""
        store, message_id = self.backend.store, turn.message_id
        extras: dict[str, Any] = {"pieces": pieces}
        if error:
            extras["error"] = error
        message = store.get_message(message_id)
        if message.complete:
            store.finish_message(message_id, extras)
        else:
            store.mark_interrupted(message_id, message.meta.get(INTERRUPTED, "stopped"), extras)
        self.complete = message.complete
        self.meta = store.get_message(message_id).meta
        self.backend.note_cloud_outcome(self.meta)


def open_backend(config: Config, prefer_daemon: bool = True, model: str | None = None,
                 cloud: str | None = None) -> ChatBackend:
    """The daemon's backend when one answers on its socket (with `model` and `cloud`, if given),
    else the edge agent in this process."""
    if prefer_daemon:
        from tui.daemon_backend import DaemonBackend

        daemon = DaemonBackend.connect(config, model=model, cloud=cloud)
        if daemon is not None:
            return daemon
    return InProcessBackend(config)

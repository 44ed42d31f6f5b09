"""What the service needs from a model backend, whatever runs the model.

The servicer validates requests and speaks gRPC; a backend turns a prompt into
text pieces and scores Fuse sessions. Two implementations: the embedded
llama.cpp model (`llama.py`) and an OpenAI-compatible HTTP upstream (`openai.py`).
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import grpc

from cloud_service.sessions import Distribution, FuseSession, SessionTable
from runtime.decode import DecodeResult, Piece


@dataclass(frozen=True)
class ModelInfo:
    model_id: str
    vocab_fingerprint: str  # "" when the backend has no vocabulary (no Fuse)
    n_vocab: int
    n_ctx: int


@dataclass
class BackendStats:
    """Counters the tests and benchmarks read."""

    tokens_generated: int = 0
    streams_started: int = 0
    streams_cancelled: int = 0


@dataclass(frozen=True)
class Prompt:
    """A prompt as the client sent it: chat (rendered by the model's template) or raw text."""

    text: str
    raw: bool = False
    system: str = ""
    history: tuple[tuple[str, str], ...] = ()  # earlier turns (instruction, answer), redacted by the edge

    def chat(self) -> list[tuple[str, str]]:
        """(role, content) messages: the system message, the earlier turns, the prompt."""
        messages = [("system", self.system)] if self.system else []
        for instruction, answer in self.history:
            messages += [("user", instruction), ("assistant", answer)]
        return messages + [("user", self.text)]


@dataclass(frozen=True)
class Append:
    """Tokens a Fuse step commits: ids as they are, or text the backend tokenizes (a placeholder)."""

    ids: tuple[int, ...] = ()
    text: str = ""


class BackendError(Exception):
    """A call the backend could not serve; `code` is the gRPC status that says why."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class Backend(abc.ABC):
    """A model behind the service. `load` and `close` block; the rest is called from the event loop."""

    name: str = ""
    capabilities: tuple[str, ...] = ()

    def __init__(self, max_sessions: int) -> None:
        self.info: ModelInfo | None = None
        self.stats = BackendStats()
        self.sessions = SessionTable(max_sessions)

    @property
    def description(self) -> str:
        """What is being loaded, for the log."""
        return self.name

    @property
    def ready(self) -> bool:
        """Whether the model is loaded."""
        return self.info is not None

    @abc.abstractmethod
    def load(self) -> ModelInfo:
        """Blocking: open the model (or reach the upstream) and describe it."""

    @abc.abstractmethod
    def close(self) -> None:
        """Blocking: free the model and connections."""

    async def aclose(self) -> None:
        """Close from the event loop (backends with async connections override this)."""
        self.close()

    @abc.abstractmethod
    def count_tokens(self, prompt: Prompt) -> int | None:
        """Tokens the prompt takes in the context, or None when the backend cannot tell."""

    @abc.abstractmethod
    def stream(
        self, prompt: Prompt, max_tokens: int, temperature: float, seed: int,
        stop: Sequence[str], result: DecodeResult,
    ) -> AsyncIterator[Piece]:
        """Generate; yield pieces as they come; fill `result`. Cancelling the consumer stops generation."""

    # -- Fuse: one session per stream ---------------------------------------------------

    def new_session(self, top_k: int) -> FuseSession:
        """Raises OverflowError when every session slot is taken."""
        return self.sessions.new_session(top_k)

    def close_session(self, session: FuseSession) -> None:
        """Bookkeeping only (safe from the event loop)."""
        self.sessions.close(session)

    @abc.abstractmethod
    async def fuse_open(self, session: FuseSession, prompt: Prompt) -> list[Distribution]:
        """Evaluate the chat prompt; the distribution of the first answer token."""

    @abc.abstractmethod
    async def fuse_step(
        self, session: FuseSession, keep: int, appends: Sequence[Append], drafts: Sequence[int]
    ) -> list[Distribution]:
        """Keep `keep` drafts, commit the appends, score new drafts: len(drafts)+1 distributions."""

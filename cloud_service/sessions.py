"""Fuse sessions, whatever backend scores them: the table of open sessions and the rules of a step.

One Fuse stream is one session: the prompt and the answer committed so far, the drafts
scored last, and the distributions of the last answer. A backend keeps the model's side
(the llama engine in `backends/llama_fuse.py`, the upstream's prefix cache for `openai`);
here is only what every backend checks the same way.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from runtime.limits import DEFAULT_TOP_K, MAX_DRAFT


class FuseRequestError(ValueError):
    """A step the session cannot take (maps to INVALID_ARGUMENT)."""


@dataclass
class Distribution:
    """The top-k next tokens at one position, best first, with their log-probabilities."""

    ids: list[int]
    logprobs: list[float]


@dataclass
class FuseSession:
    """One Fuse stream's state on the cloud."""

    id: int
    top_k: int
    tokens: list[int] = field(default_factory=list)  # committed: prompt + appended
    drafts: list[int] = field(default_factory=list)  # scored after `tokens`, not committed
    rows: list[Distribution] = field(default_factory=list)  # the last answer: after tokens, after each draft
    saved: object | None = None  # the backend's copy of the session's model state (llama: its KV cache)
    last_used: float = field(default_factory=time.monotonic)


class SessionTable:
    """The open Fuse sessions of one backend, at most `max_sessions` at a time."""

    def __init__(self, max_sessions: int) -> None:
        self.max_sessions = max_sessions
        self.sessions: dict[int, FuseSession] = {}
        self._ids = itertools.count(1)

    def new_session(self, top_k: int) -> FuseSession:
        """A new session (top_k 0 = the default); OverflowError when every slot is taken."""
        if len(self.sessions) >= self.max_sessions:
            raise OverflowError(f"all {self.max_sessions} fuse sessions are in use; retry later")
        session = FuseSession(next(self._ids), top_k or DEFAULT_TOP_K)
        self.sessions[session.id] = session
        return session

    def close(self, session: FuseSession) -> None:
        """Free the session's slot (closing twice is harmless)."""
        self.sessions.pop(session.id, None)


def plan_step(
    session: FuseSession, keep: int, appends: Sequence[list[int]], drafts: Sequence[int], n_vocab: int, n_ctx: int,
    reserve: int = 0,
) -> list[int]:
    """Check a step against the session; the committed tokens after it (prompt + answer so far)."""
    if keep > len(session.drafts):
        raise FuseRequestError(f"keep={keep} but only {len(session.drafts)} draft token(s) were scored")
    if len(drafts) > MAX_DRAFT:
        raise FuseRequestError(f"at most {MAX_DRAFT} draft tokens per step, got {len(drafts)}")
    new_tokens = [t for run in appends for t in run]
    bad = [t for t in [*new_tokens, *drafts] if t >= n_vocab]
    if bad:
        raise FuseRequestError(f"token id {bad[0]} is outside the vocabulary (n_vocab={n_vocab})")
    committed = session.tokens + session.drafts[:keep] + new_tokens
    check_fits(len(committed) + len(drafts), n_ctx, reserve)
    return committed


def check_fits(n: int, n_ctx: int, reserve: int = 0) -> None:
    """A session of `n` tokens fits a context of `n_ctx`, `reserve` of them kept free (scoring's padding)."""
    if n + max(reserve, 1) > n_ctx:
        kept = f" ({reserve} kept free for scoring)" if reserve else ""
        raise FuseRequestError(f"the session would hold {n} tokens but the context holds {n_ctx}{kept}")

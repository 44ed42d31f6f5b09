"""Fuse sessions on the embedded llama.cpp model: many sessions, one context, no mixed state.

Only one session's tokens are resident in the llama.cpp context at a time; when
another session (or a Generate call) needs the model, the resident session's KV
cache is copied out (`runtime.kv.save`) and copied back when it is next used.
Every token after the prompt is evaluated in decode calls of exactly SCORE_BATCH
tokens (`runtime.kv.extend_fixed`), so the distributions a session sees do not
depend on how the edge grouped its drafts: speculative and step-by-step fused
decoding stay token-for-token identical, and a round trip's drafts cost one call.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from cloud_service.sessions import Distribution, FuseSession, check_fits, plan_step
from runtime import kv

# Tokens per decode call when scoring: the default draft (7) plus the token before it.
# Every call costs the same whatever it holds, so step-by-step fusion (one token per
# call) pays for 8; speculative rounds fill the call.
SCORE_BATCH = 8


class FuseEngine:
    """Runs fuse steps on the embedded model (call only from the model thread)."""

    def __init__(self, llm) -> None:
        self.llm = llm
        self.resident: FuseSession | None = None
        self.switches = 0  # how often a session's KV was restored (for benchmarks)

    def forget(self, session: FuseSession) -> None:
        """The session is closed: drop its KV cache."""
        session.saved = None
        if self.resident is session:
            self.resident = None

    def evict(self) -> None:
        """Copy the resident session out of the context so someone else can use the model."""
        resident = self.resident
        if resident is not None:
            saved = kv.save(self.llm)
            if self.resident is resident:  # forget() may have run meanwhile, on the event loop's thread
                resident.saved = saved
            self.resident = None

    def _activate(self, session: FuseSession) -> None:
        if self.resident is session:
            return
        self.evict()
        if session.saved is not None:
            kv.restore(self.llm, session.saved)
            session.saved = None
            self.switches += 1
        # A new session keeps what is in the context: `open` reuses a shared prompt prefix.
        self.resident = session

    # -- steps ----------------------------------------------------------------------

    def open(self, session: FuseSession, prompt_tokens: Sequence[int]) -> list[Distribution]:
        """Evaluate the prompt; return the distribution of the first answer token."""
        check_fits(len(prompt_tokens), self.llm.n_ctx(), SCORE_BATCH)
        self._activate(session)
        logits = kv.prefill(self.llm, prompt_tokens)
        session.tokens = list(prompt_tokens)
        session.rows = [self._top_k(logits, session.top_k)]
        return session.rows

    def step(
        self, session: FuseSession, keep: int, appends: Sequence[list[int]], drafts: Sequence[int]
    ) -> list[Distribution]:
        """Keep `keep` drafts, append token runs, score new drafts; len(drafts)+1 distributions."""
        committed = plan_step(session, keep, appends, drafts, self.llm.n_vocab(), self.llm.n_ctx(), SCORE_BATCH)
        new_tokens = committed[len(session.tokens) + keep:]
        self._activate(session)
        kv.truncate(self.llm, len(session.tokens) + keep)
        to_score = new_tokens + list(drafts)
        logits = kv.extend_fixed(self.llm, to_score, SCORE_BATCH) if to_score else None
        if new_tokens:
            end_row = self._top_k(logits[len(new_tokens) - 1], session.top_k)
        else:
            # Nothing appended: the distribution at the committed end was computed by the
            # previous answer. Re-evaluating a token would change the KV cache's floats.
            end_row = session.rows[keep]
        session.tokens = committed
        rows = [end_row]
        if drafts:
            rows += [self._top_k(row, session.top_k) for row in logits[len(new_tokens):]]
        session.drafts = list(drafts)
        session.rows = rows
        session.last_used = time.monotonic()
        return rows

    @staticmethod
    def _top_k(logits: np.ndarray, k: int) -> Distribution:
        ids, logprobs = kv.top_k(kv.log_softmax(logits), k)
        return Distribution(ids.tolist(), logprobs.astype(np.float32).tolist())

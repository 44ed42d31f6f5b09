"""Fused decoding: the edge drafts, the cloud scores the drafts in one round trip.

Two modes (`fuse.mode`):
- "exact": every token is chosen from the fused distribution. Per round the edge drafts up to
  `draft` public tokens, sends them (plus what was committed since the last round) in one Fuse
  step, and gets the cloud's top-k at every draft position. It accepts drafts while they equal
  the fused choice and commits the fused choice at the first mismatch (or after the last draft).
  Greedy output is identical, token for token, to step-by-step fused decoding (draft = 0); with
  sampling the standard speculative acceptance rule applies.
- "selective" (asks the cloud only where it helps, as U-HLM does): the edge commits a token
  without a round trip when its own probability for it is at least `confidence`, and when the
  token is held (private, or copying the notes: the cloud cannot know it). At the first other
  position the edge drafts on from there; the cloud scores the drafts in one round trip and the
  fused rule decides at the uncertain positions only (the edge's confident drafts stand).

Held tokens (see spans.py) are decoded by the edge alone and go up as placeholders. If the
cloud refuses or is lost mid-answer, the edge finishes alone (`stats.cloud_lost`).
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from edge_agent.cloud_client import FuseChannel
from edge_agent.fusion.base import BaseRows
from edge_agent.fusion.rules import FusionRule, candidates
from edge_agent.fusion.spans import SpanWatcher
from edge_agent.fusion.stats import FuseStats
from edge_agent.fusion.uplink import Uplink
from protos import tandem_pb2 as pb
from runtime import kv
from runtime.llm import eog_ids


@dataclass
class FuseSettings:
    max_tokens: int = 256
    draft: int = 6  # tokens drafted per round trip (0 = step-by-step)
    top_k: int = 20
    temperature: float = 0.0
    seed: int = 0
    mode: str = "exact"  # exact | selective
    confidence: float = 0.5  # selective: the edge commits tokens at least this likely without asking
    ahead: int = 0  # selective: send committed tokens up without waiting once this many are queued (0 = off)


@dataclass
class _Round:
    """One round's drafts and, per position (one more than the drafts), the edge's row and
    whether the cloud decides there."""

    drafts: list[int]
    rows: list[np.ndarray]
    ask: list[bool]


class FusedDecoder:
    """Decode one answer with the edge model and a cloud Fuse session."""

    def __init__(
        self,
        edge_llm,
        edge_prompt: Sequence[int],
        channel: FuseChannel | None,
        rule: FusionRule,
        watcher: SpanWatcher,
        settings: FuseSettings,
        base: BaseRows | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        if getattr(rule, "needs_base", False) and base is None and channel is not None:
            raise ValueError(f"the {rule.name} rule needs a base distribution")
        self.edge = edge_llm
        self.prompt = list(edge_prompt)
        self.rule = rule
        self.watcher = watcher
        self.settings = settings
        self.base = base if getattr(rule, "needs_base", False) else None
        self.should_stop = should_stop
        self.uplink = Uplink(channel, watcher.guard, lambda ids: edge_llm.detokenize(ids).decode("utf-8", "replace"),
                             ahead=settings.ahead if settings.mode == "selective" else 0)
        self.stats = FuseStats()
        self._rng = np.random.default_rng(settings.seed)
        self._eog = eog_ids(edge_llm)
        self._out: list[int] = []
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._prefilled: np.ndarray | None = None

    # -- the edge model -----------------------------------------------------------------

    def _edge_extend(self, token: int) -> np.ndarray:
        return kv.log_softmax(kv.extend(self.edge, [token])[-1])

    def _piece(self, token: int) -> str:
        return self.edge.detokenize([token]).decode("utf-8", errors="replace")

    def _continues(self, row: np.ndarray) -> bool:
        """The edge's likeliest next token goes on with the current word (no space or punctuation first)."""
        token = int(np.argmax(row))
        if token in self._eog:
            return False
        piece = self._piece(token)
        return bool(piece) and (piece[0].isalnum() or piece[0] == "_")

    def _edge_pick(self, edge_lp: np.ndarray) -> int:
        if self.settings.temperature <= 0:
            return int(np.argmax(edge_lp))
        q = _softmax(edge_lp / self.settings.temperature)
        return int(self._rng.choice(edge_lp.shape[0], p=q))

    def _confident(self, edge_lp: np.ndarray) -> bool:
        return float(np.exp(edge_lp.max())) >= self.settings.confidence

    def _truncate_edge(self, extra: int = 0) -> None:
        kv.truncate(self.edge, len(self.prompt) + len(self._out) + extra)

    # -- choosing tokens ----------------------------------------------------------------

    def _fused(self, edge_lp: np.ndarray, cloud: pb.TopK, base_lp: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        c = candidates(edge_lp, list(cloud.ids), list(cloud.logprobs), self.settings.top_k)
        if base_lp is not None:
            return c.ids, self.rule.fuse_with_base(c, base_lp)
        return c.ids, self.rule.fuse(c)

    def _base_rows(self, drafts: list[int]) -> list[np.ndarray | None]:
        """The base's rows at every position of a round (read at once)."""
        if self.base is None:
            return [None] * (len(drafts) + 1)
        return self.base.rows(self._out + drafts, len(drafts) + 1)

    def _decide(self, ids: np.ndarray, scores: np.ndarray, edge_lp: np.ndarray, draft: int | None) -> int | None:
        """The fused choice at a position: None if `draft` stands, else the token to commit instead."""
        if self.settings.temperature <= 0:
            choice = int(ids[int(np.argmax(scores))])
            return None if choice == draft else choice
        p = _softmax(scores / self.settings.temperature)
        if draft is None:
            return int(self._rng.choice(ids, p=p))
        q_all = _softmax(edge_lp / self.settings.temperature)
        p_draft = float(p[ids == draft].sum())
        if self._rng.random() < min(1.0, p_draft / max(float(q_all[draft]), 1e-12)):
            return None
        residual = np.maximum(p - q_all[ids], 0.0)
        if residual.sum() <= 0:
            residual = p
        return int(self._rng.choice(ids, p=residual / residual.sum()))

    def _verify(self, rnd: _Round, cloud_rows: list[pb.TopK], base_rows: list[np.ndarray | None]) -> tuple[int, int | None]:
        """How many drafts to accept, and the token that follows them (None: the edge goes on)."""
        text = self.watcher.text
        for i, draft in enumerate(rnd.drafts):
            if rnd.ask[i]:
                self.stats.asked += 1
                ids, scores = self._fused(rnd.rows[i], cloud_rows[i], base_rows[i])
                choice = self._decide(ids, scores, rnd.rows[i], draft)
                if choice is not None:
                    return i, choice
            else:
                self.stats.confident += 1  # the edge was sure of this draft: it stands unasked
            text += self._piece(draft)
        n = len(rnd.drafts)
        if not rnd.ask[n] or self._starts_private(rnd.rows[n], after=text):
            return n, None
        self.stats.asked += 1
        ids, scores = self._fused(rnd.rows[n], cloud_rows[n], base_rows[n])
        return n, self._decide(ids, scores, rnd.rows[n], None)

    def _starts_private(self, edge_lp: np.ndarray, after: str | None = None) -> bool:
        """Greedy only: the edge's own choice starts a private detail, so the edge writes it (the cloud cannot know it)."""
        if self.settings.temperature > 0:
            return False
        return self.watcher.would_hold(self._piece(int(np.argmax(edge_lp))), after=after)

    # -- committing ---------------------------------------------------------------------

    def _commit(self, token: int, row_after: np.ndarray, in_cloud: bool = False) -> str:
        """Record a committed token (`row_after`: the edge's distribution after it); queue what the
        cloud may see; return new text. `in_cloud`: an accepted draft, already in the session."""
        self._out.append(token)
        self.stats.tokens += 1
        self.stats.token_ids.append(token)
        releases = self.watcher.commit(token, self._piece(token), self._continues(row_after))
        if not in_cloud:
            self.uplink.queue(releases)
        return self._decoder.decode(self.edge.detokenize([token]))

    def _alone(self, edge_lp: np.ndarray) -> tuple[int, np.ndarray | None, str]:
        """The edge writes the next token by itself: (token, row after it, text); row None at the end."""
        token = self._edge_pick(edge_lp)
        if token in self._eog:
            return token, None, ""
        row = self._edge_extend(token)
        return token, row, self._commit(token, row)

    # -- drafting -----------------------------------------------------------------------

    def _draft(self, edge_lp: np.ndarray, limit: int, ask: bool | None = None) -> _Round:
        """Up to `limit` public tokens from the edge alone, with the edge's rows along them.

        `ask`: the cloud decides at every position (exact) when None; else the first position is
        `ask` and the others are uncertain ones (selective)."""
        rnd = _Round([], [edge_lp], [True if ask is None else ask])
        text = self.watcher.text
        while len(rnd.drafts) < limit and self.stats.tokens + len(rnd.drafts) + 1 < self.settings.max_tokens:
            token = self._edge_pick(rnd.rows[-1])
            if token in self._eog:
                break
            piece = self._piece(token)
            row = self._edge_extend(token)
            if self.watcher.would_hold(piece, after=text, continues=self._continues(row)):
                break
            rnd.drafts.append(token)
            rnd.rows.append(row)
            rnd.ask.append(ask is None or not self._confident(row))
            text += piece
            if ask is not None and rnd.ask[-1]:
                break  # selective: the next uncertain position is the cloud's too (its row comes back anyway)
        return rnd

    # -- the loop -----------------------------------------------------------------------

    def prefill(self) -> np.ndarray:
        """Read the edge's prompt (a caller may do it while the cloud opens the session); its last row.

        Exact: in fixed calls, so a previous answer's prefix is reused with the floats a fresh read
        gives. Selective: in the model's largest calls (faster), reusing whatever prefix is there."""
        if self.settings.mode == "exact":
            row = kv.prefill(self.edge, self.prompt)
        else:
            row = kv.sync_to(self.edge, self.prompt)[-1]
        self._prefilled = kv.log_softmax(row)
        return self._prefilled

    def run(self, first_cloud_row: pb.TopK | None) -> Iterator[str]:
        """Yield the answer's text as tokens are committed.

        `first_cloud_row` is the open session's distribution of the first answer token
        (from `FuseChannel.open`), or None to decode on the edge alone.
        """
        started = time.perf_counter()
        edge_lp = self._prefilled if self._prefilled is not None else self.prefill()
        if first_cloud_row is None:
            self.uplink.close()
        steps = self._exact if self.settings.mode == "exact" else self._selective
        try:
            yield from steps(edge_lp, first_cloud_row)
        finally:
            self.uplink.close()
            self.stats.cloud_lost = self.uplink.lost
            self.stats.round_trips = self.uplink.round_trips
            self.stats.waited = self.uplink.waits
            self.stats.seconds = time.perf_counter() - started
        tail = self._decoder.decode(b"", final=True)
        if tail:
            yield tail

    def _running(self) -> bool:
        return self.stats.tokens < self.settings.max_tokens and not self.should_stop()

    def _exact(self, edge_lp: np.ndarray, cloud_now: pb.TopK | None) -> Iterator[str]:
        while self._running():
            edge_only = not self.uplink.open or self.watcher.holding
            rnd = _Round([], [edge_lp], [True]) if edge_only else self._draft(edge_lp, self.settings.draft)
            # An empty draft because the edge starts a private detail needs no round trip:
            # the edge writes the detail whatever the cloud says.
            if edge_only or (not rnd.drafts and self._starts_private(edge_lp)):
                self._truncate_edge()
                self.stats.edge_alone += 1
                token, row, text = self._alone(edge_lp)
                if row is None:
                    break
                edge_lp, cloud_now = row, None
                if text:
                    yield text
                continue
            answer = self._ask(rnd, cloud_now)
            cloud_now = None
            if answer is None:
                continue  # the cloud is gone: edge_lp is still the distribution at the committed end
            accepted, token = self._verify(rnd, *answer)
            text = self._accept(rnd, accepted)
            if token is None or token in self._eog:
                if text:
                    yield text
                if token is None:
                    edge_lp = rnd.rows[accepted]
                    continue
                break
            edge_lp = self._edge_extend(token)
            text += self._commit(token, edge_lp)
            if text:
                yield text

    def _selective(self, edge_lp: np.ndarray, cloud_now: pb.TopK | None) -> Iterator[str]:
        while self._running():
            if not self.uplink.open or self.watcher.holding:
                self.stats.edge_alone += 1
                token, row, text = self._alone(edge_lp)
            elif self._confident(edge_lp) or self._starts_private(edge_lp):
                self.stats.confident += 1
                token, row, text = self._alone(edge_lp)
            else:
                token, row, text = None, None, ""
            if token is not None:  # the edge wrote it, without a round trip
                if row is None:
                    break
                edge_lp, cloud_now = row, None
                self.uplink.send_ahead()
                if text:
                    yield text
                continue
            rnd = self._draft(edge_lp, 0 if cloud_now is not None and not self.uplink.pending
                              else self.settings.draft, ask=True)
            answer = self._ask(rnd, cloud_now)
            cloud_now = None
            if answer is None:
                continue
            accepted, token = self._verify(rnd, *answer)
            text = self._accept(rnd, accepted)
            if token is not None and token not in self._eog:
                edge_lp = self._edge_extend(token)
                text += self._commit(token, edge_lp)
            elif token is None:
                edge_lp = rnd.rows[accepted]
            if text:
                yield text
            if token is not None and token in self._eog:
                break

    def _ask(self, rnd: _Round, cloud_now: pb.TopK | None) -> tuple[list[pb.TopK], list[np.ndarray | None]] | None:
        """The cloud's rows for a round (the open's row when nothing is new) and the base's; None if
        the cloud is gone. The base reads the round while the cloud scores it."""
        if not rnd.drafts and cloud_now is not None and not self.uplink.pending:
            return [cloud_now], self._base_rows([])
        answer = self.uplink.submit(rnd.drafts)
        started = time.perf_counter()
        base_rows = self._base_rows(rnd.drafts)
        read = time.perf_counter()
        rows = answer.result()
        self.stats.base_s += read - started
        self.stats.wait_s += time.perf_counter() - read
        if rows is None:
            self._truncate_edge()
            return None
        if len(rows) < len(rnd.drafts) + 1:  # drafts the door would have refused were not sent
            n = len(rows) - 1
            rnd.drafts, rnd.rows, rnd.ask = rnd.drafts[:n], rnd.rows[: n + 1], rnd.ask[: n + 1]
            base_rows = base_rows[: n + 1]
        return rows, base_rows

    def _accept(self, rnd: _Round, accepted: int) -> str:
        """Commit the first `accepted` drafts (already in the cloud session); their text."""
        self.stats.drafted += len(rnd.drafts)
        self.stats.accepted += accepted
        self._truncate_edge(accepted)
        text = ""
        for i, draft in enumerate(rnd.drafts[:accepted]):
            text += self._commit(draft, rnd.rows[i + 1], in_cloud=True)
        self.uplink.keep = accepted
        return text


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()

"""Speculative fused decoding: the edge drafts, the cloud scores the drafts in one round trip.

Per round the edge drafts up to `draft` public tokens with its own model, sends them
(plus what was committed since the last round) in one Fuse step, and gets the cloud's
top-k at every draft position. It accepts drafts while they equal the fused choice
and commits the fused choice at the first mismatch (or after the last draft). Greedy
output is therefore identical, token for token, to step-by-step fused greedy decoding
(draft = 0); with sampling the standard speculative acceptance rule applies
(accept d with probability min(1, p(d)/q(d)), else sample from max(0, p - q)).

Private spans (see spans.py) are decoded by the edge alone; the cloud is sent their
redacted text. Where the edge's own greedy choice starts a private detail (a name or
number from the notes), the edge's choice is taken over the fused one: the cloud cannot
know the detail and would pull towards a generic word. If the cloud is lost mid-answer,
the edge finishes alone.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from edge_agent.cloud_client import CloudError, FuseChannel
from edge_agent.fusion.rules import Candidates, FusionRule, ProxyTuning, candidates
from edge_agent.fusion.spans import SpanWatcher
from edge_agent.fusion.stats import FuseStats
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
        base_row: Callable[[list[int]], np.ndarray] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.edge = edge_llm
        self.prompt = list(edge_prompt)
        self.channel = channel
        self.rule = rule
        self.watcher = watcher
        self.settings = settings
        self.base_row = base_row  # proxy-tuning: the base model's log-probs after the given answer tokens
        self.should_stop = should_stop
        self.stats = FuseStats()
        self._rng = np.random.default_rng(settings.seed)
        self._eog = eog_ids(edge_llm)
        self._out: list[int] = []
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[pb.FuseAppend] = []
        self._keep = 0

    # -- the edge model ---------------------------------------------------------------

    def _edge_extend(self, token: int) -> np.ndarray:
        return kv.log_softmax(kv.extend(self.edge, [token])[-1])

    def _piece(self, token: int) -> str:
        return self.edge.detokenize([token]).decode("utf-8", errors="replace")

    # -- choosing tokens --------------------------------------------------------------

    def _fused(self, edge_lp: np.ndarray, cloud: pb.TopK) -> tuple[np.ndarray, np.ndarray]:
        c: Candidates = candidates(edge_lp, list(cloud.ids), list(cloud.logprobs), self.settings.top_k)
        if isinstance(self.rule, ProxyTuning):
            assert self.base_row is not None, "proxy-tuning needs a base model"
            return c.ids, self.rule.fuse_with_base(c, self.base_row(self._out))
        return c.ids, self.rule.fuse(c)

    def _sample_or_argmax(self, ids: np.ndarray, scores: np.ndarray) -> int:
        if self.settings.temperature <= 0:
            return int(ids[int(np.argmax(scores))])
        p = _softmax(scores / self.settings.temperature)
        return int(self._rng.choice(ids, p=p))

    def _edge_pick(self, edge_lp: np.ndarray) -> int:
        if self.settings.temperature <= 0:
            return int(np.argmax(edge_lp))
        q = _softmax(edge_lp / self.settings.temperature)
        return int(self._rng.choice(edge_lp.shape[0], p=q))

    def _verify(self, drafts: list[int], edge_rows: list[np.ndarray], cloud_rows: list[pb.TopK]) -> tuple[int, int]:
        """How many drafts to accept, and the token that follows them."""
        text = self.watcher.text
        for i, draft in enumerate(drafts):
            ids, scores = self._fused(edge_rows[i], cloud_rows[i])
            if self.settings.temperature <= 0:
                choice = int(ids[int(np.argmax(scores))])
                if choice != draft:
                    return i, choice
                text += self._piece(draft)
                continue
            p = _softmax(scores / self.settings.temperature)
            q_all = _softmax(edge_rows[i] / self.settings.temperature)
            p_draft = float(p[ids == draft].sum())
            if self._rng.random() < min(1.0, p_draft / max(float(q_all[draft]), 1e-12)):
                text += self._piece(draft)
                continue
            residual = np.maximum(p - q_all[ids], 0.0)
            if residual.sum() <= 0:
                residual = p
            return i, int(self._rng.choice(ids, p=residual / residual.sum()))
        n = len(drafts)
        if self._starts_private(edge_rows[n], after=text):
            return n, int(np.argmax(edge_rows[n]))
        ids, scores = self._fused(edge_rows[n], cloud_rows[n])
        return n, self._sample_or_argmax(ids, scores)

    def _starts_private(self, edge_lp: np.ndarray, after: str | None = None) -> bool:
        """Greedy only: the edge's own choice starts a private detail, so the edge writes it (the cloud cannot know it)."""
        if self.settings.temperature > 0:
            return False
        return self.watcher.would_hold(self._piece(int(np.argmax(edge_lp))), after=after)

    # -- committing -------------------------------------------------------------------

    def _commit(self, token: int, in_cloud: bool = False) -> str:
        """Record a committed token; queue what the cloud may see; return new text.

        `in_cloud`: an accepted draft, already in the cloud session (kept, not re-sent).
        """
        self._out.append(token)
        self.stats.tokens += 1
        self.stats.token_ids.append(token)
        piece = self._piece(token)
        releases, public = self.watcher.commit(token, piece)
        for release in releases:
            if release.private:
                self._pending.append(pb.FuseAppend(text=release.redacted))
            else:
                self._pending.append(pb.FuseAppend(ids=release.tokens))
        if public and not in_cloud:
            self._pending.append(pb.FuseAppend(ids=[token]))
        return self._decoder.decode(self.edge.detokenize([token]))

    def _lose_cloud(self, exc: CloudError) -> None:
        self.stats.cloud_lost = str(exc)
        if self.channel is not None:
            self.channel.close()
        self.channel = None

    # -- the loop ---------------------------------------------------------------------

    def run(self, first_cloud_row: pb.TopK | None) -> Iterator[str]:
        """Yield the answer's text as tokens are committed.

        `first_cloud_row` is the open session's distribution of the first answer token
        (from `FuseChannel.open`), or None to decode on the edge alone.
        """
        started = time.perf_counter()
        edge_lp = kv.log_softmax(kv.prefill(self.edge, self.prompt))  # reuses a previous answer's prompt prefix
        cloud_now = first_cloud_row  # the cloud's distribution at the committed end, if known
        if cloud_now is None:
            self.channel = None
        try:
            while self.stats.tokens < self.settings.max_tokens and not self.should_stop():
                edge_only = self.channel is None or self.watcher.holding
                drafts, edge_rows = ([], [edge_lp]) if edge_only else self._draft(edge_lp)
                # An empty draft because the edge starts a private detail needs no round trip:
                # the edge writes the detail whatever the cloud says.
                if edge_only or (not drafts and self._starts_private(edge_lp)):
                    token = self._edge_pick(edge_lp)
                    self.stats.edge_alone += 1
                    if token in self._eog:
                        break
                    cloud_now = None
                    text = self._commit(token)
                    edge_lp = self._edge_extend(token)
                    if text:
                        yield text
                    continue
                if drafts or cloud_now is None or self._pending:
                    try:
                        cloud_rows = self.channel.step(self._keep, self._pending, drafts)
                    except CloudError as exc:
                        self._lose_cloud(exc)
                        kv.truncate(self.edge, len(self.prompt) + len(self._out))
                        continue  # edge_lp is still the distribution at the committed end
                    self._pending = []
                    self.stats.round_trips += 1
                else:
                    cloud_rows = [cloud_now]
                accepted, token = self._verify(drafts, edge_rows, cloud_rows)
                self.stats.drafted += len(drafts)
                self.stats.accepted += accepted
                self.stats.fused_positions += accepted + 1
                kv.truncate(self.edge, len(self.prompt) + len(self._out) + accepted)
                text = ""
                for draft in drafts[:accepted]:
                    text += self._commit(draft, in_cloud=True)
                self._keep = accepted
                cloud_now = None
                if token in self._eog:
                    if text:
                        yield text
                    break
                text += self._commit(token)
                edge_lp = self._edge_extend(token)
                if text:
                    yield text
        finally:
            if self.channel is not None:
                self.channel.close()
            self.stats.seconds = time.perf_counter() - started
        tail = self._decoder.decode(b"", final=True)
        if tail:
            yield tail

    def _draft(self, edge_lp: np.ndarray) -> tuple[list[int], list[np.ndarray]]:
        """Up to `draft` public tokens from the edge alone, and the edge's rows along them."""
        drafts: list[int] = []
        rows = [edge_lp]
        text = self.watcher.text
        while len(drafts) < self.settings.draft and self.stats.tokens + len(drafts) + 1 < self.settings.max_tokens:
            token = self._edge_pick(rows[-1])
            piece = self._piece(token)
            if token in self._eog or self.watcher.would_hold(piece, after=text):
                break
            drafts.append(token)
            text += piece
            rows.append(self._edge_extend(token))
        return drafts, rows


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()

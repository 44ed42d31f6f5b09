"""What every strategy receives and reports."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

from edge_agent.cloud_client import WireStats

if TYPE_CHECKING:
    from edge_agent.fusion import FuseStats
from edge_agent.context import PrivateContext


@dataclass(frozen=True)
class AskRequest:
    """One question from the user."""

    instruction: str
    context: PrivateContext = PrivateContext()
    strategy: str = "edge"
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0


@dataclass
class Candidate:
    """One answer that best-of considered."""

    strategy: str
    text: str
    score: float | None = None
    verdict: str | None = None
    verdict_probs: dict[str, float] = field(default_factory=dict)


@dataclass
class AnswerReport:
    """How an answer was made: filled in while it streams, complete when it ends."""

    strategy: str  # the strategy asked for
    request_id: str = ""
    answered_by: str = "edge"  # "edge", "cloud" or "edge+cloud"
    fallback: str = ""  # why the edge answered alone, when it had to
    context_sent: bool = False  # true only for the opt-in cloud-with-context baseline
    sketch: list[str] = field(default_factory=list)
    fuse: "FuseStats | None" = None  # the fuse strategy's decoding figures
    score: float | None = None  # the scorer's score of the answer, in [0, 1]
    verdict: str | None = None  # the verifier's A / B / C (None: not verified)
    verdict_probs: dict[str, float] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)  # best-of only
    chosen: str = ""  # best-of only: which candidate was returned
    wire: WireStats = field(default_factory=WireStats)
    text: str = ""
    edge_tokens: int = 0
    started: float = field(default_factory=time.perf_counter)
    first_text_s: float | None = None
    total_s: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def note_text(self, piece: str) -> None:
        if self.first_text_s is None:
            self.first_text_s = time.perf_counter() - self.started
        self.text += piece

    def finish(self) -> None:
        self.total_s = time.perf_counter() - self.started

    def summary(self) -> str:
        """One line: strategy, fallback, what went to the cloud."""
        parts = [f"strategy: {self.strategy}"]
        if self.context_sent:
            parts.append("OPT-IN BASELINE: private context WAS sent to the cloud")
        if self.fallback:
            parts.append(f"edge-only fallback ({self.fallback})")
        parts.append(self.wire.summary())
        if self.score is not None:
            parts.append(f"score {self.score:.2f}")
        if self.verdict:
            meaning = {"A": "notes did not help", "B": "not grounded in the notes", "C": "correct"}[self.verdict]
            parts.append(f"verdict {self.verdict} ({meaning})")
        if self.chosen:
            parts.append(f"best of {len(self.candidates)}: {self.chosen}")
        if self.fuse is not None and self.fuse.tokens:
            f = self.fuse
            parts.append(
                f"fuse: {f.tokens} tokens, {f.round_trips} round trips ({f.round_trips / f.tokens:.2f}/token), "
                f"draft acceptance {f.acceptance:.0%}, {f.edge_alone} token(s) on the edge alone"
            )
        return " | ".join(parts)

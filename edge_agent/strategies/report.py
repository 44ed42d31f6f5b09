"""How an answer was made (`AnswerReport`), and its one codec: to a dict and back, losing nothing.

The same dict is kept with the answer in the store (the chat's badges read it) and crosses
the daemon's socket as JSON, so `tandem ask`, the chat and the daemon all see one report.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from edge_agent.cloud_client import WireStats
from edge_agent.fusion.stats import FuseStats

VERDICT_MEANINGS = {"A": "notes did not help", "B": "not grounded in the notes", "C": "correct"}


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
    context_sent: bool = False  # true only for an opt-in strategy that sends the notes (or text derived from them)
    sketch: list[str] = field(default_factory=list)
    fuse: FuseStats | None = None  # the fuse strategy's decoding figures
    score: float | None = None  # the scorer's score of the answer, in [0, 1]
    verdict: str | None = None  # the verifier's A / B / C (None: not verified)
    verdict_probs: dict[str, float] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)  # best-of only
    chosen: str = ""  # best-of only: which candidate was returned
    notes_used: list[str] = field(default_factory=list)  # checked / slots: the notes lines judged relevant
    draft: str = ""  # checked / slots: the text before the edge finished it (filled, tidied, repaired)
    slot_values: dict[str, str] = field(default_factory=dict)  # slots filled from the notes: slot -> value
    slots_dropped: list[str] = field(default_factory=list)  # slots the notes could not fill (removed)
    repair_added: list[str] = field(default_factory=list)  # sentences the repair added from uncovered lines
    wire: WireStats = field(default_factory=WireStats)
    text: str = ""
    edge_tokens: int = 0
    history_turns: int = 0  # earlier turns of the conversation the answer was given
    history_dropped: int = 0  # older turns left out to stay within the history budget
    prompt_tokens: int = 0  # the edge model's last prompt, in tokens
    cached_tokens: int = 0  # of those, how many came from a saved KV state (not evaluated again)
    first_text_s: float | None = None
    total_s: float | None = None
    cancelled: bool = False  # set when the answer was stopped before its end
    started: float = field(default_factory=time.perf_counter, repr=False, compare=False)  # this process's clock
    cancel: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def note_text(self, piece: str) -> None:
        """Add a streamed piece (the first one sets the time to first text)."""
        if self.first_text_s is None:
            self.first_text_s = time.perf_counter() - self.started
        self.text += piece

    def finish(self) -> None:
        """The answer ended (completely or not): fix its total time and whether it was cancelled."""
        self.total_s = time.perf_counter() - self.started
        self.cancelled = self.cancel.is_set()

    def summary(self) -> str:
        """One line: strategy, fallback, what went to the cloud."""
        parts = [f"strategy: {self.strategy}"]
        if self.context_sent:
            parts.append("OPT-IN: private context WAS sent to the cloud")
        if self.fallback:
            parts.append(f"edge-only fallback ({self.fallback})")
        parts.append(self.wire.summary())
        if self.history_turns or self.history_dropped:
            dropped = f", {self.history_dropped} older left out" if self.history_dropped else ""
            parts.append(f"history: {self.history_turns} earlier turn(s){dropped}")
        if self.score is not None:
            parts.append(f"score {self.score:.2f}")
        if self.verdict:
            parts.append(f"verdict {self.verdict} ({VERDICT_MEANINGS.get(self.verdict, '?')})")
        if self.chosen:
            parts.append(f"best of {len(self.candidates)}: {self.chosen}")
        if self.draft:
            parts.append(f"finished on the edge: {len(self.slot_values)} slot(s) filled, "
                         f"{len(self.slots_dropped)} dropped, {len(self.repair_added)} note line(s) added")
        if self.fuse is not None and self.fuse.tokens:
            f = self.fuse
            parts.append(
                f"fuse: {f.tokens} tokens, {f.round_trips} round trips ({f.round_trips / f.tokens:.2f}/token), "
                f"draft acceptance {f.acceptance:.0%}, {f.edge_alone} token(s) on the edge alone"
            )
        return " | ".join(parts)


# Fields that belong to this process only: a clock reading and a live event.
_LOCAL_FIELDS = ("started", "cancel")


def report_to_dict(report: AnswerReport) -> dict[str, Any]:
    """Every field of the report as JSON-ready data (nested stats and candidates included)."""
    return {f.name: _plain(getattr(report, f.name)) for f in dataclasses.fields(report) if f.name not in _LOCAL_FIELDS}


def report_from_dict(data: dict[str, Any]) -> AnswerReport:
    """The report `report_to_dict` made (keys it does not know are ignored, missing ones get defaults)."""
    known = {f.name for f in dataclasses.fields(AnswerReport)} - set(_LOCAL_FIELDS)
    values = {key: value for key, value in data.items() if key in known}
    if values.get("fuse") is not None:
        values["fuse"] = FuseStats(**values["fuse"])
    if "wire" in values:
        values["wire"] = WireStats(**values["wire"])
    values["candidates"] = [Candidate(**c) for c in values.get("candidates", [])]
    report = AnswerReport(**values)
    if report.cancelled:
        report.cancel.set()
    return report


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value

"""The edge agent: answers a request with a strategy, keeping private context on the device."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from edge_agent.cloud_client import CloudClient
from edge_agent.config import Config
from edge_agent.edge_runtime import EdgeRuntime
from edge_agent.local_model import EdgeModel
from edge_agent.privacy import AuditLog, PrivacyGuard
from edge_agent.quality import Quality
from edge_agent.retrieval import Embedder
from edge_agent.strategies.base import AskRequest, StrategyRefused
from edge_agent.strategies.context import StrategyContext, shared_embedder
from edge_agent.strategies.registry import STRATEGIES
from edge_agent.strategies.report import AnswerReport


@dataclass
class Answer:
    """A streaming answer: iterate for text pieces; `report` is complete once iteration ends."""

    pieces: Iterator[str]
    report: AnswerReport

    def __iter__(self) -> Iterator[str]:
        return self.pieces

    def cancel(self) -> None:
        """Stop generating at the next token (and close any cloud stream)."""
        self.report.cancel.set()

    def text(self) -> str:
        """Consume the whole answer and return it."""
        for _ in self.pieces:
            pass
        return self.report.text


class EdgeAgent:
    """Runs strategies: one privacy guard and one cloud client per request, the edge model shared."""

    def __init__(self, config: Config, edge_model: EdgeModel | None = None, audit: AuditLog | None = None) -> None:
        self.config = config
        self.edge = EdgeRuntime(config, edge_model)
        self.audit = audit or AuditLog(config.privacy.audit_path())
        self.quality = Quality()
        self.embedder: Embedder | None = None  # the store's, when a service sets it; else one per process

    def use_embedder(self, embedder: Embedder) -> None:
        """Share an embedder already loaded (the store's) with the strategies that rank notes lines."""
        self.embedder = embedder

    @property
    def edge_model(self) -> EdgeModel:
        """The edge model (loaded on first use)."""
        return self.edge.model

    def load(self) -> None:
        """Load the edge model now, so that a missing model is reported before anything streams."""
        self.edge.load()

    def check(self, request: AskRequest) -> None:
        """Refuse, before any model loads, a strategy that does not exist or is not enabled."""
        strategy = STRATEGIES.get(request.strategy)
        if strategy is None:
            raise StrategyRefused(f"unknown strategy '{request.strategy}' (known: {', '.join(STRATEGIES)})")
        if not strategy.enabled(self.config):
            section, _, key = strategy.opt_in.partition(".")
            raise StrategyRefused(
                f"strategy {strategy.name} is opt-in ({strategy.description}); to enable it set "
                f"`{key} = true` under [{section}] in {self.config.file_label}"
            )

    def cloud_client(self, guard: PrivacyGuard, request_id: str) -> CloudClient:
        """The one door to the cloud for one request (redacts with `guard`, audits everything)."""
        return CloudClient(
            self.config.cloud.address, self.audit, guard,
            timeout_s=self.config.cloud.timeout_s, connect_timeout_s=self.config.cloud.connect_timeout_s,
            request_id=request_id, cloud=self.config.cloud,
        )

    def ask(self, request: AskRequest) -> Answer:
        """Start answering; nothing runs until the answer is iterated."""
        self.check(request)
        report = AnswerReport(strategy=request.strategy, request_id=uuid.uuid4().hex[:12])
        return Answer(pieces=self._run(request, report), report=report)

    def _run(self, request: AskRequest, report: AnswerReport) -> Iterator[str]:
        guard = PrivacyGuard(request.private_lines, self.config.privacy.guard_settings())  # notes, store, earlier turns
        with self.cloud_client(guard, report.request_id) as cloud:
            ctx = StrategyContext(edge=self.edge, cloud=cloud, quality=self.quality, config=self.config,
                                  embedder=self.embedder or shared_embedder())
            try:
                for piece in ctx.run(request.strategy, request, report):
                    if report.cancel.is_set():
                        break
                    report.note_text(piece)
                    yield piece
                if not report.cancel.is_set():
                    self._judge(request, report)
            finally:
                report.wire = cloud.stats
                report.finish()

    def _judge(self, request: AskRequest, report: AnswerReport) -> None:
        """Attach the scorer's score (and, if configured, the verifier's verdict) to the answer."""
        if not report.text.strip():
            return
        if report.score is None and self.config.quality.score:
            scores = self.quality.score(request.instruction, request.context.text, [report.text])
            report.score = scores[0] if scores else None
        if report.verdict is None and self.config.quality.verify:
            with self.edge.lock:
                verdict = self.quality.verify(self.edge.model, request.instruction, request.context.text, report.text)
            report.verdict, report.verdict_probs = verdict.label, dict(verdict.probs)

    def close(self) -> None:
        """Free the models the agent loaded."""
        self.edge.close()

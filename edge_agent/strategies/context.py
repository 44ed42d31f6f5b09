"""What a strategy works with: passed in explicitly, so strategies never reach back into the agent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from edge_agent.cloud_client import CloudClient
from edge_agent.config import Config
from edge_agent.edge_runtime import EdgeRuntime
from edge_agent.quality import Quality
from edge_agent.retrieval import Embedder
from edge_agent.strategies.base import AskRequest
from edge_agent.strategies.registry import STRATEGIES
from edge_agent.strategies.report import AnswerReport


@dataclass
class StrategyContext:
    """The edge model, the one door to the cloud for this request, the quality checks and the settings."""

    edge: EdgeRuntime
    cloud: CloudClient  # redacts, checks and audits everything it sends (one guard per request)
    quality: Quality
    config: Config
    # MiniLM, for the notes lines a request needs (checked, slots); loads on first use.
    embedder: Embedder = field(default_factory=lambda: shared_embedder())

    def run(self, name: str, request: AskRequest, report: AnswerReport) -> Iterator[str]:
        """Run another strategy on this request (best-of gathers its candidates this way)."""
        return STRATEGIES[name].load()(self, request, report)


_EMBEDDER: Embedder | None = None
_EMBEDDER_LOCK = threading.Lock()


def shared_embedder() -> Embedder:
    """One MiniLM embedder per process for the strategies that need it (it loads on first use)."""
    global _EMBEDDER
    with _EMBEDDER_LOCK:
        if _EMBEDDER is None:
            _EMBEDDER = Embedder()
        return _EMBEDDER

"""Ways of answering: which model writes, and what (if anything) the cloud contributes.

Each strategy is a function `run(ctx, request, report) -> Iterator[str]` that streams the
answer's text and fills in the report; `ctx` (a `StrategyContext`, strategies/context.py)
holds the edge model, the cloud client for this request, the quality checks and the
settings. The table of strategies is `registry.STRATEGIES`; the report and its codec are in
strategies/report.py. This package's top level stays light (the config imports it).
"""

from edge_agent.strategies.base import AskRequest, StrategyRefused
from edge_agent.strategies.registry import NAMES, STRATEGIES, Strategy

__all__ = ["NAMES", "STRATEGIES", "AskRequest", "Strategy", "StrategyRefused"]

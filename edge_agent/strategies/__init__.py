"""Ways of answering: which model writes, and what (if anything) the cloud contributes.

Each strategy is a function `run(agent, request, report) -> Iterator[str]` that
streams the answer's text and fills in the report.
"""

from edge_agent.strategies.base import AnswerReport, AskRequest
from edge_agent.strategies.runners import RUNNERS, StrategyRefused

__all__ = ["AnswerReport", "AskRequest", "RUNNERS", "StrategyRefused"]

"""What every strategy receives (`AskRequest`), and the refusal of one that may not run."""

from __future__ import annotations

from dataclasses import dataclass

from edge_agent.context import PrivateContext
from runtime.errors import UserError


@dataclass(frozen=True)
class AskRequest:
    """One question from the user."""

    instruction: str
    context: PrivateContext = PrivateContext()  # empty: the answer service takes it from the store
    strategy: str = "edge"
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0


class StrategyRefused(UserError, RuntimeError):
    """The strategy may not run with this configuration; the message says how to enable it."""

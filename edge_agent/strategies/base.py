"""What every strategy receives (`AskRequest`), and the refusal of one that may not run."""

from __future__ import annotations

from dataclasses import dataclass

from edge_agent.context import PrivateContext
from runtime.errors import UserError


@dataclass(frozen=True)
class HistoryTurn:
    """An earlier turn of the conversation: private context, like the notes.

    The edge model sees all of it; a strategy that calls the cloud may send the instruction and
    the answer, redacted by the request's guard (never `notes`).
    """

    instruction: str
    answer: str
    notes: str = ""  # private notes first given to the model in this turn (the edge's prompt only)


@dataclass(frozen=True)
class AskRequest:
    """One question from the user."""

    instruction: str
    context: PrivateContext = PrivateContext()  # empty: the answer service takes it from the store
    strategy: str = "edge"
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0
    # Earlier turns, oldest first (the answer service fills them from the conversation, within
    # the history budget), and notes retrieved for this turn that no earlier turn showed.
    history: tuple[HistoryTurn, ...] = ()
    turn_notes: str = ""

    @property
    def cloud_history(self) -> tuple[tuple[str, str], ...]:
        """The earlier turns a strategy that calls the cloud may send, as (instruction, answer) pairs;
        the cloud client redacts each string (the turns' notes are never sent)."""
        return tuple((turn.instruction, turn.answer) for turn in self.history)

    @property
    def private_lines(self) -> list[str]:
        """Everything the request's privacy guard must know: the context, the history and the turn's notes."""
        texts = [text for turn in self.history for text in (turn.instruction, turn.answer, turn.notes)]
        texts.append(self.turn_notes)
        extra = [line.strip() for text in texts for line in text.splitlines() if line.strip()]
        return self.context.guard_lines + extra


class StrategyRefused(UserError, RuntimeError):
    """The strategy may not run with this configuration; the message says how to enable it."""

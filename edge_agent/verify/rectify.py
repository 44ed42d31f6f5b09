"""KALMV's rectification, bounded: A -> try the next-ranked context and regenerate, B -> regenerate
with another seed and a temperature above zero (greedy regeneration would repeat itself).

It works over callables so that any strategy can plug in its own generation and retrieval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from edge_agent.verify.verifier import Verdict

Ctx = TypeVar("Ctx")

ACTION_FIRST = "first"
ACTION_NEXT_CONTEXT = "next-context"
ACTION_REGENERATE = "regenerate"


@dataclass(frozen=True)
class Attempt(Generic[Ctx]):
    answer: str
    context: Ctx
    verdict: Verdict
    action: str  # first, next-context or regenerate


@dataclass
class Rectified(Generic[Ctx]):
    """The answer to use (the first one judged correct, else the one most likely correct) and all attempts."""

    answer: str
    context: Ctx
    verdict: Verdict
    attempts: list[Attempt[Ctx]] = field(default_factory=list)

    @property
    def repaired(self) -> bool:
        """Whether a later attempt turned a first answer not judged correct (C) into one that is."""
        return len(self.attempts) > 1 and self.attempts[0].verdict.label != "C" and self.verdict.label == "C"


def rectify(
    answer: str,
    context: Ctx,
    check: Callable[[Ctx, str], Verdict],
    regenerate: Callable[[Ctx, int, float], str],
    next_context: Callable[[], Ctx | None],
    max_attempts: int = 2,
    temperature: float = 0.7,
    verdict: Verdict | None = None,
) -> Rectified[Ctx]:
    """Verify `answer`; while it is not judged correct, repair it at most `max_attempts` times.

    check(context, answer) -> Verdict; regenerate(context, seed, temperature) -> answer;
    next_context() -> the next-ranked context, or None when there is none left (then an A is
    treated like a B). Pass `verdict` if the first answer was already verified.
    """
    if max_attempts < 0:
        raise ValueError(f"max_attempts must be 0 or more, got {max_attempts}")
    verdict = verdict or check(context, answer)
    attempts = [Attempt(answer, context, verdict, ACTION_FIRST)]
    for n in range(1, max_attempts + 1):
        if verdict.label == "C":
            break
        action = ACTION_REGENERATE
        if verdict.label == "A":
            candidate = next_context()
            if candidate is not None:
                context, action = candidate, ACTION_NEXT_CONTEXT
        answer = regenerate(context, n, temperature)
        verdict = check(context, answer)
        attempts.append(Attempt(answer, context, verdict, action))
    best = next((a for a in attempts if a.verdict.label == "C"), None) or max(
        attempts, key=lambda a: a.verdict.probs["C"]
    )
    return Rectified(best.answer, best.context, best.verdict, attempts)

"""Bounded rectification over plain callables (and once with a real model and the real verifier)."""

from __future__ import annotations

import pytest

from edge_agent.local_model import EdgeModel
from edge_agent.verify import Verdict, rectify, verify
from edge_agent.verify.rectify import ACTION_FIRST, ACTION_NEXT_CONTEXT, ACTION_REGENERATE


def verdict(label: str, p_c: float = 0.0) -> Verdict:
    rest = (1.0 - p_c) / 2
    probs = {"A": rest, "B": rest, "C": p_c}
    probs[label] = max(probs[label], p_c if label == "C" else 0.6)
    total = sum(probs.values())
    return Verdict(label, {k: v / total for k, v in probs.items()})


class Script:
    """Verdicts in order for each answer, and a record of every call."""

    def __init__(self, verdicts: dict[str, Verdict], contexts: list[str] | None = None) -> None:
        self.verdicts = verdicts
        self.contexts = list(contexts or [])
        self.regenerated: list[tuple[str, int, float]] = []
        self.checked: list[tuple[str, str]] = []

    def check(self, context: str, answer: str) -> Verdict:
        self.checked.append((context, answer))
        return self.verdicts[answer]

    def regenerate(self, context: str, seed: int, temperature: float) -> str:
        self.regenerated.append((context, seed, temperature))
        return f"answer{len(self.regenerated)}"

    def next_context(self) -> str | None:
        return self.contexts.pop(0) if self.contexts else None


def run(script: Script, max_attempts: int = 2, **kwargs):
    return rectify("answer0", "ctx0", script.check, script.regenerate, script.next_context,
                   max_attempts=max_attempts, **kwargs)


def test_a_correct_answer_is_kept_without_regenerating():
    script = Script({"answer0": verdict("C", 0.9)})
    result = run(script)
    assert result.answer == "answer0" and result.verdict.label == "C" and not result.repaired
    assert script.regenerated == [] and [a.action for a in result.attempts] == [ACTION_FIRST]


def test_retrieval_error_moves_to_the_next_context_and_regenerates_there():
    script = Script({"answer0": verdict("A"), "answer1": verdict("C", 0.8)}, contexts=["ctx1", "ctx2"])
    result = run(script)
    assert script.regenerated == [("ctx1", 1, 0.7)]
    assert script.checked == [("ctx0", "answer0"), ("ctx1", "answer1")]
    assert (result.answer, result.context) == ("answer1", "ctx1") and result.repaired
    assert [a.action for a in result.attempts] == [ACTION_FIRST, ACTION_NEXT_CONTEXT]


def test_retrieval_error_without_more_context_regenerates_in_place():
    script = Script({"answer0": verdict("A"), "answer1": verdict("A"), "answer2": verdict("A")})
    result = run(script)
    assert [c for c, _, _ in script.regenerated] == ["ctx0", "ctx0"]
    assert [a.action for a in result.attempts] == [ACTION_FIRST, ACTION_REGENERATE, ACTION_REGENERATE]


def test_grounding_error_regenerates_with_new_seeds_and_stops_at_the_bound():
    script = Script({f"answer{i}": verdict("B", p_c=c) for i, c in enumerate((0.1, 0.3, 0.2, 0.9))},
                    contexts=["unused"])
    result = run(script, max_attempts=2, temperature=0.9)
    assert script.regenerated == [("ctx0", 1, 0.9), ("ctx0", 2, 0.9)]  # never the greedy/first seed again
    assert len(result.attempts) == 3 and script.contexts == ["unused"]
    # nothing judged correct: the attempt most likely correct wins
    assert result.answer == "answer1" and not result.repaired


def test_zero_attempts_only_verifies_and_a_given_verdict_is_not_recomputed():
    script = Script({"answer0": verdict("B")})
    assert run(script, max_attempts=0).attempts[0].verdict.label == "B"
    assert script.regenerated == []
    script = Script({"answer1": verdict("C", 0.9)})
    result = run(script, verdict=verdict("B"))
    assert script.checked == [("ctx0", "answer1")] and result.answer == "answer1"
    with pytest.raises(ValueError, match="max_attempts"):
        run(script, max_attempts=-1)


@pytest.fixture(scope="module")
def smol(smol_path) -> EdgeModel:
    model = EdgeModel(smol_path, n_ctx=2048, n_threads=1)
    yield model
    model.close()


def test_rectify_with_the_real_verifier_and_model(smol):
    """Mechanics with a real model: every attempt is a real generation, judged by the real verifier."""
    from edge_agent.context import PrivateContext
    from edge_agent.strategies.prompts import edge_messages

    instruction = "Write a one-line reminder about the dentist."
    contexts = ["Dentist: Dr. Feld, March 14 at 3:30 pm", "Gym renews April 1"]
    queue = contexts[1:]

    def regenerate(context: str, seed: int, temperature: float) -> str:
        messages = edge_messages(instruction, PrivateContext(context))
        return "".join(smol.stream_chat(messages, max_tokens=16, temperature=temperature, seed=seed))

    first = regenerate(contexts[0], 0, 0.0)
    result = rectify(first, contexts[0], lambda c, a: verify(smol, instruction, c, a), regenerate,
                     lambda: queue.pop(0) if queue else None, max_attempts=2)
    assert 1 <= len(result.attempts) <= 3
    assert result.attempts[0].answer == first
    assert result.answer in [a.answer for a in result.attempts]
    for attempt in result.attempts:
        assert attempt.verdict.label in "ABC" and sum(attempt.verdict.probs.values()) == pytest.approx(1.0)
    if result.attempts[0].verdict.label != "C":
        assert len(result.attempts) > 1

"""The verifier reads option probabilities from the real model's next-token logits."""

from __future__ import annotations

import numpy as np
import pytest

from edge_agent.local_model import EdgeModel, PromptTooLong
from edge_agent.verify import verifier
from edge_agent.verify.verifier import (
    GROUNDED_QUESTIONS,
    HELP_QUESTIONS,
    OPTIONS,
    WORDINGS,
    Verdict,
    next_token_logits,
    option_token_ids,
    verify,
)

INSTRUCTION = "Email Mr. Holm asking him to fix the radiator before March 14."
NOTES = "Landlord: Mr. Holm\nBedroom radiator cold since Monday\nParents visiting March 14"
ANSWER = "Dear Mr. Holm, the bedroom radiator has been cold since Monday; could you fix it before March 14?"


@pytest.fixture(scope="module")
def smol(smol_path) -> EdgeModel:
    model = EdgeModel(smol_path, n_ctx=2048, n_threads=1)
    yield model
    model.close()


def test_option_tokens_spell_the_letters(smol):
    ids = option_token_ids(smol.llm)
    assert set(ids) == set(OPTIONS)
    for option, tokens in ids.items():
        assert 1 <= len(tokens) <= 2
        assert {smol.llm.detokenize([t]).decode().strip() for t in tokens} == {option}
    assert len({t for tokens in ids.values() for t in tokens}) == sum(len(t) for t in ids.values())


def test_ensembles_have_at_least_three_distinct_wordings():
    for wordings in (WORDINGS, HELP_QUESTIONS, GROUNDED_QUESTIONS):
        assert len(set(wordings)) == len(wordings) >= 3


def test_next_token_logits_reuse_the_cache_correctly(smol):
    """Logits after a prompt that shares a cached prefix equal those of a fresh evaluation."""
    first = smol.chat_tokens(verifier.verdict_messages(INSTRUCTION, NOTES, ANSWER, WORDINGS[0]))
    second = smol.chat_tokens(verifier.verdict_messages(INSTRUCTION, NOTES, ANSWER, WORDINGS[1]))
    next_token_logits(smol.llm, first)
    reused = next_token_logits(smol.llm, second)
    smol.llm.reset()
    fresh = next_token_logits(smol.llm, second)
    assert int(np.argmax(reused)) == int(np.argmax(fresh))
    assert np.allclose(reused, fresh, atol=0.05)
    again = next_token_logits(smol.llm, second)  # the whole prompt cached: the last token is re-read
    assert np.allclose(again, fresh, atol=0.05)


@pytest.mark.parametrize("method", ["options", "questions"])
def test_verdict_is_a_distribution_over_the_three_options(smol, method):
    verdict = verify(smol, INSTRUCTION, NOTES, ANSWER, method=method)
    assert isinstance(verdict, Verdict)
    assert set(verdict.probs) == set(OPTIONS)
    assert sum(verdict.probs.values()) == pytest.approx(1.0)
    assert all(0.0 <= p <= 1.0 for p in verdict.probs.values())
    assert verdict.label in OPTIONS and 0.0 < verdict.mass <= 1.0 + 1e-9
    if method == "options":
        assert verdict.label == max(OPTIONS, key=lambda o: verdict.probs[o])
    assert verify(smol, INSTRUCTION, NOTES, ANSWER, method=method) == verdict  # deterministic


def test_one_uncalibrated_wording_equals_the_softmax_of_the_logits(smol):
    """No parsing of text: the verdict is the option tokens' share of the next-token distribution."""
    wording = WORDINGS[0]
    verdict = verify(smol, INSTRUCTION, NOTES, ANSWER, method="options", wordings=[wording], calibrate=False)
    smol.llm.reset()
    logits = next_token_logits(smol.llm, smol.chat_tokens(verifier.verdict_messages(INSTRUCTION, NOTES, ANSWER, wording)))
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    raw = {o: float(probs[list(ids)].sum()) for o, ids in option_token_ids(smol.llm).items()}
    total = sum(raw.values())
    for option in OPTIONS:
        assert verdict.probs[option] == pytest.approx(raw[option] / total, abs=1e-3)
    assert verdict.mass == pytest.approx(total, abs=1e-3)


def test_questions_method_combines_the_two_questions(smol):
    verdict = verify(smol, INSTRUCTION, NOTES, ANSWER, method="questions")
    p_help = 1.0 - verdict.probs["A"]
    p_grounded = verdict.probs["C"] / p_help
    assert verdict.probs["B"] == pytest.approx(p_help * (1.0 - p_grounded))
    expected = "A" if p_help < 0.5 else ("C" if p_grounded >= 0.5 else "B")
    assert verdict.label == expected


def test_the_model_still_generates_the_same_after_verifying(smol):
    from runtime.llm import ChatMessage

    messages = [ChatMessage("user", "Say hello to Ana.")]
    before = "".join(smol.stream_chat(messages, max_tokens=12))
    verify(smol, INSTRUCTION, NOTES, ANSWER)
    assert "".join(smol.stream_chat(messages, max_tokens=12)) == before


def test_bad_arguments_are_refused(smol):
    with pytest.raises(ValueError, match="unknown verification method 'vote'"):
        verify(smol, INSTRUCTION, NOTES, ANSWER, method="vote")
    with pytest.raises(ValueError, match="at least one wording"):
        verify(smol, INSTRUCTION, NOTES, ANSWER, method="options", wordings=[])
    with pytest.raises(PromptTooLong, match="raise edge.n_ctx"):
        verify(smol, INSTRUCTION, "note " * 3000, ANSWER)


@pytest.mark.slow
def test_edge_model_prefers_right_notes_to_another_tasks_notes(edge_path):
    """Behaviour with the real edge model: notes from an unrelated task look less helpful."""
    model = EdgeModel(edge_path, n_ctx=2048)
    try:
        right = verify(model, INSTRUCTION, NOTES, ANSWER)
        unrelated = verify(model, INSTRUCTION, "Gym renews April 1\nYoga on Thursdays\nWi-Fi password: maple4471", ANSWER)
    finally:
        model.close()
    assert unrelated.probs["A"] > right.probs["A"]

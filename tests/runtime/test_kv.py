"""runtime.kv on a real model: fixed-size scoring calls make logits independent of grouping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runtime import kv
from runtime.llm import load_llama


@pytest.fixture(scope="module")
def llm(smol_path: Path):
    model = load_llama(smol_path, n_ctx=256, n_threads=1)
    yield model
    model.close()


def _tokens(llm, text: str) -> list[int]:
    return llm.tokenize(text.encode(), add_bos=False)


def _count_extend_fixed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, the number of tokens each kv.extend_fixed call evaluates."""
    evaluated: list[int] = []
    real_extend_fixed = kv.extend_fixed
    monkeypatch.setattr(kv, "extend_fixed", lambda m, t, b, **kw: evaluated.append(len(t)) or real_extend_fixed(m, t, b, **kw))
    return evaluated


def test_fixed_calls_give_the_same_logits_however_tokens_are_grouped(llm) -> None:
    prompt = _tokens(llm, "Write a short note to my sister about the dentist.")
    answer = _tokens(llm, " Dear Maya, I wanted to let you know that my appointment moved to Friday.")
    assert len(answer) > 8
    kv.sync_to(llm, prompt)
    one_by_one = np.stack([kv.extend_fixed(llm, [t], batch=8)[0] for t in answer])
    kv.truncate(llm, len(prompt))
    grouped = np.concatenate([kv.extend_fixed(llm, answer[:3], 8), kv.extend_fixed(llm, answer[3:], 8)])
    assert grouped.shape == one_by_one.shape
    assert np.array_equal(grouped, one_by_one)  # bit for bit
    assert kv.committed(llm) == prompt + answer  # the padding left nothing behind
    kv.truncate(llm, len(prompt))
    last_two = kv.extend_fixed(llm, answer, 8, logit_rows=2)
    assert np.array_equal(last_two, one_by_one[-2:])


def test_plain_batches_do_not_give_the_same_logits(llm) -> None:
    """Why extend_fixed exists: the same tokens, one call each vs one call for all."""
    prompt = _tokens(llm, "Write a short note to my sister about the dentist.")
    answer = _tokens(llm, " Dear Maya, I wanted to let you know")
    kv.sync_to(llm, prompt)
    one_by_one = np.stack([kv.extend(llm, [t])[0] for t in answer])
    kv.truncate(llm, len(prompt))
    together = kv.extend(llm, answer, logit_rows=len(answer))
    assert not np.array_equal(together, one_by_one)


def test_extend_fixed_refuses_what_would_not_fit_with_its_padding(llm) -> None:
    kv.truncate(llm, 0)
    kv.extend(llm, [1] * (llm.n_ctx() - 4))
    with pytest.raises(OverflowError, match="padding"):
        kv.extend_fixed(llm, [1], batch=8)


def test_prefill_reuses_a_shared_prefix_with_the_floats_of_a_fresh_read(llm, monkeypatch: pytest.MonkeyPatch) -> None:
    notes = _tokens(llm, "Notes: Dana Whitfield, sister Maya in Portland, dentist on March 14 at 3:30 pm. " * 4)
    first = notes + _tokens(llm, "Write a text to my sister.")
    second = notes + _tokens(llm, "Write a reminder about the dentist.")
    kv.truncate(llm, 0)
    fresh = kv.prefill(llm, second)

    kv.truncate(llm, 0)
    kv.prefill(llm, first)
    kv.extend(llm, _tokens(llm, " Hi Maya"))  # an answer, one token per call
    evaluated = _count_extend_fixed(monkeypatch)
    reused = kv.prefill(llm, second)

    assert np.array_equal(reused, fresh)
    assert sum(evaluated) < len(second) - len(notes) + 2  # the notes were not read again
    assert kv.committed(llm) == second


def test_prefill_reads_everything_again_after_another_path_rewrote_the_context(llm, monkeypatch) -> None:
    prompt = _tokens(llm, "Write a reminder about the dentist appointment on Friday.")
    kv.truncate(llm, 0)
    kv.prefill(llm, prompt)
    kv.forget_prefill(llm)  # what decode_stream does before llama-cpp-python's generate
    evaluated = _count_extend_fixed(monkeypatch)
    kv.prefill(llm, prompt)
    assert evaluated == [len(prompt)]


def test_sync_to_refuses_an_empty_sequence_and_leaves_the_context_alone(llm) -> None:
    kv.sync_to(llm, [1, 2, 3])
    before = kv.committed(llm)
    with pytest.raises(ValueError, match="at least 1 token"):
        kv.sync_to(llm, [])
    assert kv.committed(llm) == before

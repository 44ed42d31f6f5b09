"""The benchmark's judge: a local model rates an answer 1-10 knowing the user's private notes.

It runs in the benchmark process as an evaluator only (never through the cloud service),
with the cloud model's weights by default, as CoGenesis used GPT-4 with the full context.

Method: the judge prompt ends where the rating starts, so the model's next token is the
rating. Instead of sampling and parsing text, we read the next-token logits once and take
the softmax over the tokens that spell "1" .. "10". Qwen and SmolLM2 split numbers into
single digits, so "10" is "1" followed by "0": one more evaluation after "1" gives
P("0" | "1"), which splits the mass of "1" between the ratings 1 and 10. The score is
the expected rating under that distribution (renormalized over the ten ratings); `mass`
is the share of the next-token probability that went to a rating at all (a low mass
means the judge wanted to say something else, and the score means little).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.llm import ChatMessage, ChatTemplate, load_llama

METHOD = "logits-ev-v1"  # bump when the prompt or the method changes: cached judgements go stale

JUDGE_SYSTEM = (
    "You are a strict evaluator of personalized writing. You see the user's private notes, the user's "
    "request, and a response written for the user. Rate the response from 1 to 10:\n"
    "1-2: empty, off-topic or unusable.\n"
    "3-4: on topic but generic: it misses most details from the notes that the request needs, or gets them wrong.\n"
    "5-6: uses some of the needed details, misses or invents others.\n"
    "7-8: uses the needed details correctly, with small flaws in tone or completeness.\n"
    "9-10: uses every needed detail correctly, invents nothing, and is ready to send.\n"
    "Reply with the number only."
)


def judge_messages(notes: str, instruction: str, answer: str) -> list[ChatMessage]:
    """The judge's prompt; notes and request come first so that answers to one task share a prefix."""
    user = (
        f"Private notes:\n{notes.strip()}\n\nRequest: {instruction.strip()}\n\n"
        f"Response:\n\"\"\"\n{answer.strip() or '(empty)'}\n\"\"\"\n\n"
        "Rate the response from 1 to 10 using the scale above. Rating:"
    )
    return [ChatMessage("system", JUDGE_SYSTEM), ChatMessage("user", user)]


@dataclass(frozen=True)
class Judgement:
    score: float  # expected rating, 1-10
    probs: tuple[float, ...]  # P(rating = 1..10), summing to 1
    mass: float  # share of the next-token probability on a rating


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.asarray(logits, dtype=np.float64) - float(np.max(logits))
    exp = np.exp(shifted)
    return exp / exp.sum()


def rating_distribution(first: np.ndarray, digit_ids: Sequence[int], ten_id: int | None,
                        p_zero_after_one: float) -> Judgement:
    """Combine next-token probabilities into P(rating = 1..10).

    `first`: probabilities of the token after the prompt; `digit_ids[d]`: the token of
    digit d (0-9); `ten_id`: a single token for "10" if the vocabulary has one;
    `p_zero_after_one`: P("0" | prompt + "1"), used when "10" is spelled "1", "0".
    """
    raw = [0.0] * 10
    p_one = float(first[digit_ids[1]])
    for d in range(2, 10):
        raw[d - 1] = float(first[digit_ids[d]])
    if ten_id is not None:
        raw[0], raw[9] = p_one, float(first[ten_id])
    else:
        raw[0], raw[9] = p_one * (1.0 - p_zero_after_one), p_one * p_zero_after_one
    mass = sum(raw)
    if mass <= 0.0 or not math.isfinite(mass):
        return Judgement(float("nan"), tuple([0.1] * 10), 0.0)
    probs = tuple(p / mass for p in raw)
    score = sum((i + 1) * p for i, p in enumerate(probs))
    return Judgement(score, probs, mass)


class Judge:
    """A local model loaded once; `judge(notes, instruction, answer)` returns a Judgement."""

    def __init__(self, path: Path, n_ctx: int = 4096, n_threads: int = 0) -> None:
        self.path = path
        self.llm = load_llama(path, n_ctx=n_ctx, n_threads=n_threads)
        self.template = ChatTemplate(self.llm)
        self._n_vocab = self.llm.n_vocab()
        self.digit_ids = [self._single_token(str(d)) for d in range(10)]
        ten = self._tokens("10")
        self.ten_id = ten[0] if len(ten) == 1 else None

    def _tokens(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def _single_token(self, text: str) -> int:
        ids = self._tokens(text)
        if len(ids) != 1:
            raise ValueError(f"the judge model spells {text!r} with {len(ids)} tokens; it needs one per digit")
        return ids[0]

    def _next_probs(self, tokens: Sequence[int]) -> np.ndarray:
        """Probabilities of the token after `tokens`, reusing the KV cache of the longest shared prefix."""
        llm = self.llm
        if len(tokens) >= llm.n_ctx():
            raise ValueError(f"the judge prompt is {len(tokens)} tokens; the judge holds {llm.n_ctx()}")
        cached = llm.input_ids[: llm.n_tokens]
        shared = 0
        for a, b in zip(cached, tokens):
            if a != b:
                break
            shared += 1
        shared = min(shared, len(tokens) - 1)  # evaluate at least one token to get fresh logits
        llm.n_tokens = shared  # eval() drops the KV cache from here on
        llm.eval(list(tokens[shared:]))
        logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(self._n_vocab,))
        return softmax(logits)

    def judge(self, notes: str, instruction: str, answer: str) -> Judgement:
        prompt = self.template.render(judge_messages(notes, instruction, answer))
        tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        first = self._next_probs(tokens)
        p_zero = 0.0
        if self.ten_id is None:
            p_zero = float(self._next_probs([*tokens, self.digit_ids[1]])[self.digit_ids[0]])
        return rating_distribution(first, self.digit_ids, self.ten_id, p_zero)

    def close(self) -> None:
        self.llm.close()

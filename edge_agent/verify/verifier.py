"""KALMV-style verification with the edge model: is the context useful, and is the answer grounded in it?

  A = the context does not help with the request (retrieval error)
  B = the context helps, but the answer is wrong, incomplete or ungrounded (grounding error)
  C = the answer is correct and grounded in the context

The verdict is read from the model's next-token distribution, never from generated text.
Two methods:
  "options"   (KALMV) the three-way question in several wordings; the probabilities of the
              tokens that spell "A", "B", "C" are summed over wordings and normalized.
  "questions" two yes/no questions, each in several wordings: do the notes help (P_h), and
              does the answer use them correctly (P_g)? P(A) = 1 - P_h, P(B) = P_h (1 - P_g),
              P(C) = P_h P_g; the label is A if P_h < 0.5, else C if P_g >= 0.5, else B.
              Small models answer yes/no far more sensibly than a three-way choice
              (see `tandem bench verifier`).
Both divide each wording's probabilities by those it gives a content-free input ("N/A"), so
a model's taste for one letter or for "yes" cancels out (contextual calibration).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge_agent.local_model import EdgeModel, PromptTooLong
from runtime import kv
from runtime.llm import ChatMessage

OPTIONS = ("A", "B", "C")

SYSTEM = "You are a careful checker. You read a request, the notes found for it and an answer, and judge them."

# Ensemble members of the "options" method (KALMV uses several wordings of the same three-way question).
WORDINGS: tuple[str, ...] = (
    "Which statement is true?\n"
    "A. The notes have nothing that this request needs.\n"
    "B. The notes have what the request needs, but the answer leaves it out, gets it wrong or makes things up.\n"
    "C. The answer is correct and uses the needed details from the notes.\n"
    "Reply with one letter: A, B or C.",
    "Check the answer against the notes.\n"
    "A: the notes are irrelevant to the request\n"
    "B: the notes are relevant, but the answer is not based on them or misses key details\n"
    "C: the answer is right and grounded in the notes\n"
    "Answer with A, B or C only.",
    "Grade the answer.\n"
    "A - retrieval error: these notes do not help with the request.\n"
    "B - grounding error: the notes help, but the answer does not use them correctly.\n"
    "C - correct: the answer fulfils the request with the right details from the notes.\n"
    "Give only the letter of the grade.",
)

# The "questions" method: whether the notes help, and whether the answer is grounded in them.
HELP_QUESTIONS: tuple[str, ...] = (
    "Do the notes contain information that this request needs (for example the person, the reason or the date)? "
    "Answer yes or no.",
    "Is anything in these notes useful for writing what the request asks for? Answer yes or no.",
    "Would a writer need these notes to answer this request well? Answer yes or no.",
)
GROUNDED_QUESTIONS: tuple[str, ...] = (
    "Does the answer include the specific details from the notes that the request needs (names, dates, places)? "
    "Answer yes or no.",
    "Is this answer a correct, complete reply to the request, using the right details from the notes? "
    "Answer yes or no.",
    "Are the names, dates and places in the answer the ones given in the notes? Answer yes or no.",
)
METHODS = ("options", "questions")
CONTENT_FREE = "N/A"


@dataclass(frozen=True)
class Verdict:
    """The verdict and the ensemble's probabilities of A, B and C (summing to 1)."""

    label: str
    probs: dict[str, float]
    mass: float = 0.0  # mean raw probability of the read tokens (low = the model wanted to say something else)

    @classmethod
    def from_scores(cls, scores: dict[str, float], mass: float = 0.0) -> Verdict:
        """Normalise the options' scores to probabilities; all zero gives 1/3 each; a tie goes to the earlier label."""
        total = sum(scores.values())
        probs = {o: (scores[o] / total if total > 0 else 1 / len(OPTIONS)) for o in OPTIONS}
        return cls(max(OPTIONS, key=lambda o: probs[o]), probs, mass)


def spelling_ids(llm, words: Sequence[str]) -> tuple[int, ...]:
    """The single tokens that spell any of `words`, with or without a leading space."""
    ids: set[int] = set()
    for word in words:
        for spelling in (word, " " + word):
            tokens = llm.tokenize(spelling.encode("utf-8"), add_bos=False, special=False)
            if len(tokens) == 1:
                ids.add(tokens[0])
    return tuple(sorted(ids))


def _outcome_ids(llm, kind: str) -> dict[str, tuple[int, ...]]:
    """Token ids per outcome: the option letters, or yes/no (cached on the model)."""
    cache = llm.__dict__.setdefault("_tandem_verdict_ids", {})
    if kind not in cache:
        if kind == "options":
            outcomes = {o: spelling_ids(llm, [o]) for o in OPTIONS}
        else:
            outcomes = {"yes": spelling_ids(llm, ["yes", "Yes"]), "no": spelling_ids(llm, ["no", "No"])}
        empty = [o for o, ids in outcomes.items() if not ids]
        if empty:
            raise ValueError(f"the model's vocabulary has no single token for {empty}")
        cache[kind] = outcomes
    return cache[kind]


def option_token_ids(llm) -> dict[str, tuple[int, ...]]:
    """For each option letter, the single tokens that spell it, with and without a leading space."""
    return _outcome_ids(llm, "options")


def next_token_logits(llm, tokens: Sequence[int]) -> np.ndarray:
    """The logits of the token after `tokens`, reusing the KV cache of a shared prefix."""
    keep = kv.common_prefix(kv.committed(llm), tokens[:-1])  # evaluate at least the last token: its logits are needed
    kv.truncate(llm, keep)
    llm.eval(list(tokens[keep:]))
    logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),))
    return logits.astype(np.float64, copy=True)


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


def verdict_messages(instruction: str, context_text: str, answer: str, wording: str) -> list[ChatMessage]:
    """The chat for one wording; the shared part comes first so the KV cache serves every wording.

    (Asking the writer to check its own answer as a follow-up turn would reuse the writing's KV
    cache, but the edge model then approves its answers regardless: measured worse.)
    """
    notes = context_text.strip() or "(no notes were found)"
    user = f"Request: {instruction.strip()}\n\nNotes:\n{notes}\n\nAnswer:\n{answer.strip()}\n\n{wording}"
    return [ChatMessage("system", SYSTEM), ChatMessage("user", user)]


def _read(model: EdgeModel, messages: list[ChatMessage], outcomes: dict[str, tuple[int, ...]]) -> tuple[dict[str, float], float]:
    """Probabilities of each outcome's tokens as the next token (normalized over outcomes), and their raw mass."""
    tokens = model.chat_tokens(messages)
    if len(tokens) + 1 > model.n_ctx:
        raise PromptTooLong(
            f"the verification prompt is {len(tokens)} tokens but the edge model holds {model.n_ctx}: "
            "verify a shorter answer or less context, or raise edge.n_ctx"
        )
    probs = _softmax(next_token_logits(model.llm, tokens))
    raw = {o: float(probs[list(ids)].sum()) for o, ids in outcomes.items()}
    mass = sum(raw.values())
    return {o: p / mass for o, p in raw.items()}, mass


def _calibrated(model: EdgeModel, wording: str, outcomes: dict[str, tuple[int, ...]],
                read: dict[str, float]) -> dict[str, float]:
    """`read` divided by what the wording gives a content-free input (cached per model and wording)."""
    cache = model.llm.__dict__.setdefault("_tandem_content_free", {})
    if wording not in cache:
        messages = verdict_messages(CONTENT_FREE, CONTENT_FREE, CONTENT_FREE, wording)
        cache[wording] = _read(model, messages, outcomes)[0]
    prior = cache[wording]
    scaled = {o: p / max(prior[o], 1e-9) for o, p in read.items()}
    total = sum(scaled.values())
    return {o: v / total for o, v in scaled.items()}


def _ensemble(model: EdgeModel, instruction: str, context_text: str, answer: str, wordings: Sequence[str],
              kind: str, calibrate: bool) -> tuple[dict[str, float], float]:
    """Mean over wordings of each outcome's (calibrated) probability, and the mean raw mass."""
    outcomes = _outcome_ids(model.llm, kind)
    sums = {o: 0.0 for o in outcomes}
    mass = 0.0
    for wording in wordings:
        read, m = _read(model, verdict_messages(instruction, context_text, answer, wording), outcomes)
        if calibrate:
            read = _calibrated(model, wording, outcomes, read)
        for o, p in read.items():
            sums[o] += p / len(wordings)
        mass += m / len(wordings)
    return sums, mass


def verify(
    model: EdgeModel,
    instruction: str,
    context_text: str,
    answer: str,
    method: str = "questions",
    wordings: Sequence[str] | None = None,
    calibrate: bool = True,
) -> Verdict:
    """Judge `answer` to `instruction` given the retrieved `context_text` (see the module doc).

    `wordings` replaces the ensemble of the "options" method.
    """
    if method == "options":
        wordings = WORDINGS if wordings is None else wordings
        if not wordings:
            raise ValueError("verify needs at least one wording")
        probs, mass = _ensemble(model, instruction, context_text, answer, wordings, "options", calibrate)
        return Verdict.from_scores(probs, mass)
    if method != "questions":
        raise ValueError(f"unknown verification method {method!r} (known: {', '.join(METHODS)})")
    helps, m1 = _ensemble(model, instruction, context_text, answer, HELP_QUESTIONS, "yesno", calibrate)
    grounded, m2 = _ensemble(model, instruction, context_text, answer, GROUNDED_QUESTIONS, "yesno", calibrate)
    p_help, p_grounded = helps["yes"], grounded["yes"]
    probs = {"A": 1.0 - p_help, "B": p_help * (1.0 - p_grounded), "C": p_help * p_grounded}
    # decided question by question (the joint's argmax would favour A whenever P_h < 2/3)
    label = "A" if p_help < 0.5 else ("C" if p_grounded >= 0.5 else "B")
    return Verdict(label, probs, (m1 + m2) / 2)

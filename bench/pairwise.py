"""Pairwise judging against the opt-in baseline: PAPILLON's "quality preserved".

The judge (the cloud model's weights, loaded in the bench process as an evaluator only,
never through the service) knows the user's private notes and the request, and compares a
strategy's answer (the candidate) with the opt-in baseline's answer to the same task. The
candidate is *preserved* unless the judge prefers the baseline in every reading; a judge
that contradicts itself (prefers the first position in both orders, say) counts as a tie.

Two methods, both reading the judge from next-token logits, never from generated text:

  "ab"      PAPILLON's question: both answers in one prompt, "which is better, A or B?",
            asked in both orders; P(A) against P(B), renormalized over the two labels.
            Each order is one reading.
  "points"  each answer alone, asked yes/no questions about it (several wordings; the
            prefix up to the answer is shared, so a wording costs only its own tokens);
            its score is the mean P(yes) (P(no) for a wording where yes means worse). The
            one reading is P(baseline better) = 0.5 + (score(baseline) - score(candidate)) / 2.

`mass` is the share of the next-token probability that went to the read labels at all.
The prompts put the notes and the request first, so the evaluations of one task share a
long prefix in the KV cache (`kv.prefill` reuses it without changing the logits).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from bench.tasks import Task
from runtime import kv
from runtime.llm import ChatMessage, ChatTemplate, load_llama

BASELINE = "cloud-with-context"  # the opt-in baseline every strategy is compared with
AGAINST = "cloud-public"  # the answer the baseline must beat for the judge to be trusted
AGREEMENT_MIN = 0.8  # a judge that prefers the baseline over cloud-public less often is no headline

Outcome = Literal["baseline", "candidate", "tie"]


@dataclass(frozen=True)
class JudgePrompt:
    """One way of asking. `questions` are (wording, yes means better); "ab" uses the first only."""

    name: str
    method: Literal["ab", "points"]
    system: str
    questions: tuple[tuple[str, bool], ...]
    labels: tuple[str, str]  # "ab": the two responses' names; "points": the answers read (yes, no)
    lead: str = ""  # "ab": said once more before the two responses
    answer_prefix: str = ""  # the start of the judge's reply, after which the label is read

    def digest(self) -> str:
        """A short hash of the wording: part of METHOD, so a changed wording judges again."""
        data = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(data.encode("utf-8")).hexdigest()[:10]


_AB_SYSTEM = ("You are a strict evaluator of personalized writing. You see the user's private notes, the user's "
              "request, and two responses written for the user.")
_DETAILS_AB = ("Which response uses the user's specific details from the notes correctly and is ready to send? "
               "Answer with A or B only.", True)
_POINT_SYSTEM = ("You are a strict evaluator of personalized writing. You see the user's private notes, the user's "
                 "request, and a response written for the user.")
_DETAILS = ("Does the response use the user's specific details from the notes (names, dates, times, places) "
            "correctly, so that it is ready to send? Answer yes or no.", True)
_GENERIC = ("Is the response generic, with placeholders such as [Name] or without the user's details from the notes? "
            "Answer yes or no.", False)
_SEND = ("Could the user send this response as it is, without filling anything in or fixing any detail? "
         "Answer yes or no.", True)
_HAS = ("Does the response contain the specific names and dates from the notes that the request needs? "
        "Answer yes or no.", True)

# Every wording tried (see `python -m bench.judge_check`); PROMPT is the one in use.
PROMPTS: dict[str, JudgePrompt] = {p.name: p for p in (
    JudgePrompt("ab-generic", "ab", "You are a fair judge. You compare two responses to a user's request.",
                (("Which response is better for the user's request? Answer with A or B only.", True),), ("A", "B")),
    JudgePrompt("ab-details", "ab", _AB_SYSTEM, (_DETAILS_AB,), ("A", "B")),
    JudgePrompt("ab-details-12", "ab", _AB_SYSTEM,
                ((_DETAILS_AB[0].replace("A or B", "1 or 2"), True),), ("1", "2")),
    JudgePrompt("ab-details-lead", "ab", _AB_SYSTEM, (_DETAILS_AB,), ("A", "B"),
                lead="Compare the two responses below. The better one uses the specific details from the notes "
                "that the request needs (names, dates, times, places), gets them right, and is ready to send."),
    JudgePrompt("ab-details-prefix", "ab", _AB_SYSTEM,
                (("Which response uses the user's specific details from the notes correctly and is ready to send? "
                  "Answer with A or B.", True),), ("A", "B"),
                answer_prefix="The response that uses the user's details correctly is Response"),
    JudgePrompt("points-details", "points", _POINT_SYSTEM, (_DETAILS,), ("yes", "no")),
    JudgePrompt("points-has", "points", _POINT_SYSTEM, (_HAS,), ("yes", "no")),
    JudgePrompt("points-details-generic", "points", _POINT_SYSTEM, (_DETAILS, _GENERIC), ("yes", "no")),
    JudgePrompt("points-details-send", "points", _POINT_SYSTEM, (_DETAILS, _SEND), ("yes", "no")),
    JudgePrompt("points-all", "points", _POINT_SYSTEM, (_DETAILS, _GENERIC, _SEND, _HAS), ("yes", "no")),
)}
PROMPT = PROMPTS["points-details-send"]
METHOD = f"pairwise-v1-{PROMPT.name}-{PROMPT.digest()}"  # cached verdicts with another METHOD are made again


def _quoted(text: str) -> str:
    return f"\"\"\"\n{text.strip() or '(empty)'}\n\"\"\""


def ab_messages(prompt: JudgePrompt, notes: str, instruction: str, first: str, second: str,
                question: str) -> list[ChatMessage]:
    """The "ab" chat: notes and request first (shared by every pair of a task), then the two responses."""
    one, two = prompt.labels
    lead = f"{prompt.lead}\n\n" if prompt.lead else ""
    user = (f"Private notes:\n{notes.strip()}\n\nRequest: {instruction.strip()}\n\n{lead}"
            f"Response {one}:\n{_quoted(first)}\n\nResponse {two}:\n{_quoted(second)}\n\n{question}")
    return [ChatMessage("system", prompt.system), ChatMessage("user", user)]


def point_messages(prompt: JudgePrompt, notes: str, instruction: str, answer: str,
                   question: str) -> list[ChatMessage]:
    """The "points" chat: notes, request and one response, then one question about it."""
    user = f"Private notes:\n{notes.strip()}\n\nRequest: {instruction.strip()}\n\nResponse:\n{_quoted(answer)}\n\n{question}"
    return [ChatMessage("system", prompt.system), ChatMessage("user", user)]


@dataclass(frozen=True)
class Preference:
    """One two-way reading from the logits: P(first label), renormalized over the two labels."""

    p_first: float
    mass: float  # share of the next-token probability on either label


def preference(probs: np.ndarray, first_ids: Sequence[int], second_ids: Sequence[int]) -> Preference:
    """P(first) / (P(first) + P(second)) from next-token probabilities (each label may have several spellings)."""
    p1 = float(sum(probs[i] for i in first_ids))
    p2 = float(sum(probs[i] for i in second_ids))
    mass = p1 + p2
    if not mass > 0.0:
        return Preference(0.5, 0.0)
    return Preference(p1 / mass, mass)


@dataclass(frozen=True)
class PairVerdict:
    """P(the baseline's answer is better) per reading: the two orders ("ab"), or the score difference ("points")."""

    p_baseline: tuple[float, ...]
    mass: tuple[float, ...]
    scores: tuple[float, float] | None = None  # "points": (baseline's score, candidate's score)

    @classmethod
    def from_orders(cls, baseline_first: Preference, candidate_first: Preference) -> PairVerdict:
        """"ab": order 1 has the baseline's answer first, order 2 the candidate's."""
        return cls((baseline_first.p_first, 1.0 - candidate_first.p_first), (baseline_first.mass, candidate_first.mass))

    @classmethod
    def from_scores(cls, baseline: float, candidate: float, mass: float) -> PairVerdict:
        """"points": one reading from the two answers' scores."""
        return cls((0.5 + (baseline - candidate) / 2,), (mass,), (baseline, candidate))

    @property
    def outcome(self) -> Outcome:
        """"baseline" or "candidate" when every reading prefers it, else "tie" (no preference, or a contradiction)."""
        if all(p > 0.5 for p in self.p_baseline):
            return "baseline"
        if all(p < 0.5 for p in self.p_baseline):
            return "candidate"
        return "tie"

    @property
    def contradiction(self) -> bool:
        """The readings disagree (e.g. the judge preferred the same position in both orders)."""
        return any(p > 0.5 for p in self.p_baseline) and any(p < 0.5 for p in self.p_baseline)

    @property
    def preserved(self) -> bool:
        """The candidate is judged at least as good as the baseline (a contradiction counts as a tie)."""
        return self.outcome != "baseline"

    @property
    def mean_p_baseline(self) -> float:
        """Averaged over the readings: for "ab" the position bias cancels to first order."""
        return sum(self.p_baseline) / len(self.p_baseline)


def text_digest(text: str) -> str:
    """A short hash of an answer's stripped text (a verdict is valid for that baseline only)."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class StoredVerdict:
    """A verdict as kept on the candidate's row: valid while METHOD, the judge and the baseline's answer hold."""

    method: str
    judge_model: str
    baseline: str  # text_digest of the baseline answer it was compared with
    verdict: PairVerdict

    def to_dict(self) -> dict:
        """Plain data for the row's `pairwise` field."""
        v = self.verdict
        return {"method": self.method, "judge_model": self.judge_model, "baseline": self.baseline,
                "p_baseline": list(v.p_baseline), "mass": list(v.mass),
                "scores": None if v.scores is None else list(v.scores)}

    @classmethod
    def from_dict(cls, data: Mapping) -> StoredVerdict:
        """The inverse of `to_dict` (KeyError/TypeError/ValueError on a malformed entry)."""
        scores = data.get("scores")
        verdict = PairVerdict(tuple(data["p_baseline"]), tuple(data["mass"]), None if scores is None else tuple(scores))
        return cls(data["method"], data["judge_model"], data["baseline"], verdict)

    def valid_for(self, baseline_answer: str, judge_model: str, method: str = METHOD) -> bool:
        """Whether it was made by this judge and method against exactly this baseline answer."""
        return (self.method, self.judge_model, self.baseline) == (method, judge_model, text_digest(baseline_answer))


class PairwiseJudge:
    """A local model loaded once (or shared); `compare(notes, instruction, baseline, candidate)` -> PairVerdict."""

    def __init__(self, path: Path, n_ctx: int = 4096, n_threads: int = 0, prompt: JudgePrompt = PROMPT,
                 llm=None) -> None:
        from edge_agent.verify.verifier import spelling_ids

        self.path = path
        self.prompt = prompt
        self._owned = llm is None
        self.llm = load_llama(path, n_ctx=n_ctx, n_threads=n_threads) if llm is None else llm
        kv.forget_prefill(self.llm)  # a shared model's cache may have been written by other code
        self.template = ChatTemplate(self.llm)
        words = [[label, label.capitalize()] for label in prompt.labels]
        self.label_ids = tuple(spelling_ids(self.llm, w) for w in words)
        if not all(self.label_ids):
            raise ValueError(f"the judge model has no single token for the labels {prompt.labels}")
        self.evaluated = 0  # prompt tokens computed (those served by the KV cache are not counted)

    def _read(self, messages: Sequence[ChatMessage]) -> Preference:
        text = self.template.render(messages) + self.prompt.answer_prefix
        tokens = self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if len(tokens) >= self.llm.n_ctx():
            raise ValueError(f"the judge prompt is {len(tokens)} tokens; the judge holds {self.llm.n_ctx()}")
        reused = min(kv.common_prefix(kv.committed(self.llm), tokens), getattr(self.llm, "_tandem_prefilled", 0),
                     len(tokens) - 1)  # what kv.prefill will take from the cache
        logits = kv.prefill(self.llm, tokens)
        self.evaluated += len(tokens) - reused
        return preference(_softmax(logits), *self.label_ids)

    def prefer(self, notes: str, instruction: str, first: str, second: str) -> Preference:
        """"ab": P(the first response is better) in this order, averaged over the wordings."""
        reads = [self._read(ab_messages(self.prompt, notes, instruction, first, second, q))
                 for q, _ in self.prompt.questions]
        return Preference(float(np.mean([r.p_first for r in reads])), float(np.mean([r.mass for r in reads])))

    def score(self, notes: str, instruction: str, answer: str) -> Preference:
        """"points": the answer's score in [0, 1] (as p_first) averaged over the wordings, and the mean mass."""
        reads = [(self._read(point_messages(self.prompt, notes, instruction, answer, q)), better)
                 for q, better in self.prompt.questions]
        values = [r.p_first if better else 1.0 - r.p_first for r, better in reads]
        return Preference(float(np.mean(values)), float(np.mean([r.mass for r, _ in reads])))

    def compare(self, notes: str, instruction: str, baseline: str, candidate: str) -> PairVerdict:
        """The candidate against the baseline on one task."""
        return self.compare_many(notes, instruction, baseline, [candidate])[0]

    def compare_many(self, notes: str, instruction: str, baseline: str,
                     candidates: Sequence[str]) -> list[PairVerdict]:
        """Every candidate against one baseline, ordered so that the KV cache serves the longest prefixes
        ("ab": all baseline-first prompts, which share the baseline's answer, then all candidate-first ones)."""
        if self.prompt.method == "points":
            base = self.score(notes, instruction, baseline)
            verdicts = []
            for candidate in candidates:
                mine = base if candidate.strip() == baseline.strip() else self.score(notes, instruction, candidate)
                verdicts.append(PairVerdict.from_scores(base.p_first, mine.p_first, min(base.mass, mine.mass)))
            return verdicts
        firsts = [self.prefer(notes, instruction, baseline, c) for c in candidates]
        seconds = [self.prefer(notes, instruction, c, baseline) for c in candidates]
        return [PairVerdict.from_orders(a, b) for a, b in zip(firsts, seconds)]

    def close(self) -> None:
        """Free the model if this judge loaded it (a shared one is its owner's to close)."""
        if self._owned:
            self.llm.close()


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.asarray(logits, dtype=np.float64) - float(np.max(logits))
    exp = np.exp(shifted)
    return exp / exp.sum()


# -- rows: judging them and summarizing -------------------------------------------------------------

def _by_task(rows: Iterable) -> dict[str, dict[str, object]]:
    table: dict[str, dict[str, object]] = {}
    for row in rows:
        table.setdefault(row.key.task_id, {})[row.key.strategy] = row
    return table


def stored_verdict(row, baseline_row, judge_model: str, method: str = METHOD) -> PairVerdict | None:
    """The row's cached verdict against this baseline answer, if it is still valid."""
    data = getattr(row, "pairwise", None)
    if not data or baseline_row is None or baseline_row.error:
        return None
    try:
        stored = StoredVerdict.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None
    return stored.verdict if stored.valid_for(baseline_row.answer, judge_model, method) else None


def judge_rows(judge: PairwiseJudge, rows: Sequence, tasks: Sequence[Task], baseline: str = BASELINE,
               on_judged: Callable[[object], None] = lambda row: None) -> int:
    """Fill `row.pairwise` of every error-free row whose verdict is missing or stale; return how many were made.

    The baseline's own row is compared with itself (a sound "ab" judge is near 0.5 there; "points"
    gives exactly 0.5). `on_judged(row)` is called after each row (to write it to the cache).
    """
    judge_model = judge.path.name
    method = f"pairwise-v1-{judge.prompt.name}-{judge.prompt.digest()}"
    by_task = _by_task(rows)
    made = 0
    for task in tasks:
        mine = by_task.get(task.id, {})
        base = mine.get(baseline)
        if base is None or base.error:
            continue
        todo = [r for r in mine.values() if not r.error and stored_verdict(r, base, judge_model, method) is None]
        todo.sort(key=lambda r: r is base)  # the baseline's self-comparison last
        verdicts = judge.compare_many(task.private_context, task.instruction, base.answer, [r.answer for r in todo])
        for row, verdict in zip(todo, verdicts):
            row.pairwise = StoredVerdict(method, judge_model, text_digest(base.answer), verdict).to_dict()
            made += 1
            on_judged(row)
    return made


@dataclass(frozen=True)
class Preserved:
    """Pairwise results of one strategy against the baseline."""

    strategy: str
    judged: int = 0
    wins: int = 0  # every reading preferred the candidate
    ties: int = 0  # no preference, or the readings contradicted each other
    losses: int = 0  # every reading preferred the baseline
    mean_p_baseline: float | None = None

    @property
    def preserved(self) -> float | None:
        """Share of tasks where the candidate is judged at least as good as the baseline."""
        return (self.wins + self.ties) / self.judged if self.judged else None


def preserved_by_strategy(rows: Sequence, strategies: Sequence[str], judge_model: str,
                          baseline: str = BASELINE, method: str = METHOD) -> list[Preserved]:
    """Preserved % per strategy from the verdicts stored on the rows (stale or missing ones are left out)."""
    by_task = _by_task(rows)
    out = []
    for strategy in strategies:
        verdicts = []
        for mine in by_task.values():
            row = mine.get(strategy)
            if row is not None and not row.error:
                verdict = stored_verdict(row, mine.get(baseline), judge_model, method)
                if verdict is not None:
                    verdicts.append(verdict)
        outcomes = [v.outcome for v in verdicts]
        out.append(Preserved(
            strategy, len(verdicts), outcomes.count("candidate"), outcomes.count("tie"), outcomes.count("baseline"),
            float(np.mean([v.mean_p_baseline for v in verdicts])) if verdicts else None,
        ))
    return out


@dataclass(frozen=True)
class Agreement:
    """How often a judge ranks the baseline above an answer known to be worse (cloud-public's)."""

    metric: str
    tasks: int  # tasks with both answers judged
    agreed: int  # tasks where the judge strictly prefers the baseline

    @property
    def share(self) -> float | None:
        """Share of the tasks where the judge preferred the baseline (None without tasks)."""
        return self.agreed / self.tasks if self.tasks else None

    @property
    def passed(self) -> bool:
        """Whether the judge agrees often enough to be a headline metric."""
        return self.share is not None and self.share >= AGREEMENT_MIN

    def line(self) -> str:
        """One line for the report and the console."""
        share = "n/a" if self.share is None else f"{self.share:.0%}"
        verdict = "passes" if self.passed else "FAILS: not a headline metric"
        return (f"{self.metric}: prefers {BASELINE} over {AGAINST} on {self.agreed} of {self.tasks} tasks "
                f"({share}; needs {AGREEMENT_MIN:.0%}): {verdict}")


def judge_agreement(rows: Sequence, judge_model: str | None = None, baseline: str = BASELINE,
                    against: str = AGAINST, method: str = METHOD) -> Agreement:
    """Share of tasks where the pairwise judge prefers the baseline over `against` in every reading."""
    agreed = tasks = 0
    for mine in _by_task(rows).values():
        row, base = mine.get(against), mine.get(baseline)
        if row is None or row.error or base is None:
            continue
        model = judge_model or (row.pairwise or {}).get("judge_model", "")
        verdict = stored_verdict(row, base, model, method)
        if verdict is None:
            continue
        tasks += 1
        agreed += verdict.outcome == "baseline"
    return Agreement("pairwise judge", tasks, agreed)


def rating_agreement(rows: Sequence, baseline: str = BASELINE, against: str = AGAINST) -> Agreement:
    """The same check for the 1-10 judge: tasks where the baseline's rating is strictly higher."""
    agreed = tasks = 0
    for mine in _by_task(rows).values():
        row, base = mine.get(against), mine.get(baseline)
        if row is None or base is None or row.error or base.error or row.judge is None or base.judge is None:
            continue
        tasks += 1
        agreed += base.judge > row.judge
    return Agreement("judge 1-10", tasks, agreed)

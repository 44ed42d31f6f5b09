"""How well scores separate right answers from wrong ones (used by the build and the benchmark)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Area under the ROC curve: P(score of a random positive > a random negative), ties count half."""
    if not positives or not negatives:
        return float("nan")
    ranked = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    rank_sum = 0.0  # sum of the positives' (average, 1-based) ranks
    i = 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        average_rank = (i + 1 + j) / 2
        rank_sum += average_rank * sum(label for _, label in ranked[i:j])
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


@dataclass(frozen=True)
class Judged:
    """A scored answer and what the required-facts check says about it."""

    score: float
    recall: float  # share of the task's required facts in the answer
    own: bool  # written for this task (False: another task's answer)

    @property
    def right(self) -> bool:
        """Written for this task and containing every required fact."""
        return self.own and self.recall >= 1.0

    @property
    def wrong(self) -> bool:
        """Another task's answer, or one with under half of the required facts."""
        return not self.own or self.recall < 0.5


@dataclass(frozen=True)
class Separation:
    auc: float  # right vs. all wrong (other tasks' answers and own answers missing most facts)
    auc_own: float  # right vs. own answers missing most facts: what reranking one task's candidates needs
    n_right: int
    n_wrong: int
    n_own_wrong: int

    def as_dict(self) -> dict:
        """The figures for JSON, AUCs rounded to 4 decimals."""
        return {"auc": round(self.auc, 4), "auc_own": round(self.auc_own, 4), "n_right": self.n_right,
                "n_wrong": self.n_wrong, "n_own_wrong": self.n_own_wrong}


def separation(judged: Sequence[Judged]) -> Separation:
    """AUCs of right vs. wrong answers; answers with half or more (but not all) facts are left out."""
    right = [j.score for j in judged if j.right]
    wrong = [j.score for j in judged if j.wrong]
    own_wrong = [j.score for j in judged if j.wrong and j.own]
    return Separation(auc(right, wrong), auc(right, own_wrong), len(right), len(wrong), len(own_wrong))

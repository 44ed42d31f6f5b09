"""AUC and the right/wrong split used to report the scorer."""

from __future__ import annotations

import math

import pytest

from edge_agent.scoring.metrics import Judged, auc, separation


def test_auc_perfect_reversed_and_tied():
    assert auc([0.9, 0.8], [0.1, 0.2, 0.3]) == 1.0
    assert auc([0.1], [0.5, 0.9]) == 0.0
    assert auc([0.5, 0.5], [0.5]) == 0.5


def test_auc_matches_pairwise_count():
    pos, neg = [0.9, 0.4, 0.6, 0.6], [0.6, 0.3, 0.5]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    assert auc(pos, neg) == pytest.approx(wins / (len(pos) * len(neg)))


def test_auc_without_one_class_is_nan():
    assert math.isnan(auc([], [0.1]))
    assert math.isnan(auc([0.1], []))


def test_separation_classes():
    judged = [
        Judged(0.9, 1.0, True),  # right
        Judged(0.7, 0.75, True),  # partial: left out
        Judged(0.6, 0.25, True),  # own wrong
        Judged(0.8, 1.0, False),  # another task's answer: wrong whatever its recall
        Judged(0.1, 0.0, False),  # wrong
    ]
    sep = separation(judged)
    assert (sep.n_right, sep.n_wrong, sep.n_own_wrong) == (1, 3, 1)
    assert sep.auc == 1.0 and sep.auc_own == 1.0
    assert separation([Judged(0.2, 1.0, True), Judged(0.5, 0.0, True)]).auc_own == 0.0

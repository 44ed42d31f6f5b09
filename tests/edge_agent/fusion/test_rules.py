"""Fusion rules on hand-made distributions."""

import math
from pathlib import Path

import numpy as np
import pytest

from edge_agent.fusion.rules import (
    ContextDelta,
    EntropyAdaptive,
    FixedWeight,
    LearnedGate,
    ProxyTuning,
    candidates,
    gate_features,
    make_rule,
)


def logprobs(values: dict[int, float], n_vocab: int = 10) -> np.ndarray:
    p = np.full(n_vocab, 1e-6)
    for i, v in values.items():
        p[i] = v
    return np.log(p / p.sum())


EDGE = logprobs({1: 0.6, 2: 0.3, 3: 0.1})
CLOUD_IDS, CLOUD_LPS = [2, 4], [math.log(0.7), math.log(0.2)]


def test_candidates_are_the_union_with_a_cloud_floor() -> None:
    c = candidates(EDGE, CLOUD_IDS, CLOUD_LPS, k=3)
    assert set(c.ids.tolist()) == {1, 2, 3, 4}
    cloud = dict(zip(c.ids.tolist(), c.cloud.tolist()))
    assert cloud[2] == pytest.approx(math.log(0.7)) and cloud[1] == pytest.approx(math.log(0.2))  # floor


def choice(rule, c) -> int:
    return int(c.ids[int(np.argmax(rule.fuse(c)))])


def test_fixed_weight_moves_from_edge_to_cloud() -> None:
    c = candidates(EDGE, CLOUD_IDS, CLOUD_LPS, k=3)
    assert choice(FixedWeight(0.0), c) == 1  # edge alone
    assert choice(FixedWeight(1.0), c) == 2  # cloud alone
    assert choice(FixedWeight(0.5), c) == 2


def test_entropy_rule_trusts_the_confident_model() -> None:
    confident_cloud = candidates(logprobs({1: 0.34, 2: 0.33, 3: 0.33}), [5, 6], [math.log(0.98), math.log(0.01)], 3)
    assert EntropyAdaptive().weight(confident_cloud) > 0.9
    confident_edge = candidates(logprobs({1: 0.98, 2: 0.01}), [5, 6], [math.log(0.5), math.log(0.49)], 3)
    assert EntropyAdaptive().weight(confident_edge) < 0.2


def test_gate_weight_is_a_sigmoid_of_six_features(tmp_path: Path) -> None:
    c = candidates(EDGE, CLOUD_IDS, CLOUD_LPS, k=3)
    assert gate_features(c).shape == (6,)
    assert LearnedGate().weight(c) == pytest.approx(0.5)
    assert LearnedGate(theta=(5.0, 0, 0, 0, 0, 0)).weight(c) > 0.99
    path = tmp_path / "gate.json"
    path.write_text('{"theta": [1, 2, 3]}')
    with pytest.raises(ValueError, match="needs 6 weights"):
        LearnedGate.load(path)
    with pytest.raises(FileNotFoundError, match="tandem fuse train-gate"):
        make_rule("gate", gate_file=tmp_path / "absent.json")


def test_proxy_tuning_adds_the_tuning_difference() -> None:
    c = candidates(EDGE, CLOUD_IDS, CLOUD_LPS, k=3)
    base = logprobs({1: 0.1, 2: 0.8, 3: 0.1})
    fused = ProxyTuning(alpha=1.0).fuse_with_base(c, base)
    # tuned edge likes 1 much more than the base does: the fused choice moves to 1
    assert int(c.ids[int(np.argmax(fused))]) == 1
    with pytest.raises(ValueError, match="unknown fusion rule"):
        make_rule("average")


def test_context_delta_keeps_the_cloud_where_the_notes_do_not_matter() -> None:
    c = candidates(EDGE, CLOUD_IDS, CLOUD_LPS, k=3)
    rule = make_rule("delta", alpha=1.0)
    assert isinstance(rule, ContextDelta) and rule.needs_base
    same = rule.fuse_with_base(c, EDGE)  # the edge without the notes says what it says with them
    assert np.allclose(same, c.cloud) and int(c.ids[int(np.argmax(same))]) == 2
    # the notes make the edge like token 1 far more than it would without them: the delta moves the choice
    without_notes = logprobs({1: 0.01, 2: 0.6, 3: 0.39})
    assert int(c.ids[int(np.argmax(rule.fuse_with_base(c, without_notes)))]) == 1
    assert int(c.ids[int(np.argmax(ContextDelta(alpha=0.1).fuse_with_base(c, without_notes)))]) == 2
    with pytest.raises(RuntimeError, match="needs the base distribution"):
        rule.fuse(c)

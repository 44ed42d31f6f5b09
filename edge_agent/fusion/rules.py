"""How the edge's and the cloud's next-token distributions are combined.

Every rule scores a small candidate set: the union of the edge's top-k and the
cloud's top-k. The cloud sends only its top-k, so a candidate outside it gets the
cloud's smallest sent log-probability (an upper bound on its true value).
All rules are log-linear: fused = (1 - w) * edge + w * cloud, with w from the rule,
except the two that add a difference to the cloud: proxy-tuning, cloud + alpha * (tuned -
base) with a third model as the base, and the context delta, cloud + alpha * (edge with the
notes - edge without them), the edge being its own base (see base.py).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from edge_agent.config import FUSE_RULES


@dataclass(frozen=True)
class Candidates:
    """The candidates of one position and both models' log-probabilities for them."""

    ids: np.ndarray
    edge: np.ndarray
    cloud: np.ndarray
    edge_entropy: float
    cloud_entropy: float


def candidates(edge_logprobs: np.ndarray, cloud_ids: list[int], cloud_logprobs: list[float], k: int) -> Candidates:
    """Union of both top-k sets, with the full edge distribution and the cloud's top-k."""
    edge_top = np.argpartition(-edge_logprobs, k - 1)[:k]
    ids = np.unique(np.concatenate([edge_top, np.asarray(cloud_ids, dtype=np.int64)]))
    cloud_map = dict(zip(cloud_ids, cloud_logprobs))
    floor = min(cloud_logprobs) if cloud_logprobs else -30.0
    cloud = np.array([cloud_map.get(int(i), floor) for i in ids], dtype=np.float64)
    return Candidates(ids, edge_logprobs[ids].astype(np.float64), cloud,
                      _entropy(edge_logprobs[edge_top]), _entropy(np.asarray(cloud_logprobs, dtype=np.float64)))


def _entropy(logprobs: np.ndarray) -> float:
    """Entropy of a top-k set, renormalized (nats)."""
    if logprobs.size == 0:
        return 0.0
    p = np.exp(logprobs - logprobs.max())
    p /= p.sum()
    return float(-(p * np.log(p + 1e-12)).sum())


class FusionRule(Protocol):
    name: str

    def weight(self, c: Candidates) -> float:
        """The cloud's weight w in [0, 1] at this position."""

    def fuse(self, c: Candidates) -> np.ndarray:
        """Fused scores of the candidates (higher is better; log-space)."""


@dataclass
class FixedWeight:
    """A constant cloud weight (CoGenesis' simplest rule)."""

    cloud_weight: float = 0.5
    name: str = "fixed"
    needs_base = False  # the rule reads only the two distributions

    def weight(self, c: Candidates) -> float:
        return self.cloud_weight

    def fuse(self, c: Candidates) -> np.ndarray:
        w = self.weight(c)
        return (1.0 - w) * c.edge + w * c.cloud


@dataclass
class EntropyAdaptive(FixedWeight):
    """Trust the more confident model: w = H_edge / (H_edge + H_cloud)."""

    name: str = "entropy"

    def weight(self, c: Candidates) -> float:
        total = c.edge_entropy + c.cloud_entropy
        return 0.5 if total <= 1e-9 else c.edge_entropy / total


GATE_FEATURES = ("bias", "edge_entropy", "cloud_entropy", "edge_top_p", "cloud_top_p", "agree")


def gate_features(c: Candidates) -> np.ndarray:
    """Six numbers from the two top-k distributions: the learned gate's whole input."""
    e_best, c_best = int(np.argmax(c.edge)), int(np.argmax(c.cloud))
    return np.array([1.0, c.edge_entropy, c.cloud_entropy, math.exp(c.edge[e_best]),
                     math.exp(c.cloud[c_best]), float(e_best == c_best)])


@dataclass
class LearnedGate(FixedWeight):
    """w = sigmoid(theta . features): 6 weights, trained on the device (see fusion.gate)."""

    theta: tuple[float, ...] = (0.0,) * len(GATE_FEATURES)
    name: str = "gate"

    def weight(self, c: Candidates) -> float:
        z = float(np.dot(np.asarray(self.theta), gate_features(c)))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    @classmethod
    def load(cls, path: Path) -> LearnedGate:
        data = json.loads(path.read_text(encoding="utf-8"))
        theta = tuple(float(x) for x in data["theta"])
        if len(theta) != len(GATE_FEATURES):
            raise ValueError(f"{path}: the gate needs {len(GATE_FEATURES)} weights, found {len(theta)}")
        return cls(theta=theta)


@dataclass
class ProxyTuning:
    """Proxy-tuning: cloud + alpha * (edge_tuned - edge_base). Needs a third (base) model on the edge."""

    alpha: float = 1.0
    name: str = "proxy"
    needs_base = True

    def weight(self, c: Candidates) -> float:
        """The cloud's weight: the cloud's distribution is kept whole."""
        return 1.0

    def fuse_with_base(self, c: Candidates, base_logprobs: np.ndarray) -> np.ndarray:
        """cloud + alpha * (edge - base) over the candidates."""
        return c.cloud + self.alpha * (c.edge - base_logprobs[c.ids])

    def fuse(self, c: Candidates) -> np.ndarray:
        """Not defined without a base: see `fuse_with_base`."""
        raise RuntimeError(f"the {self.name} rule needs the base distribution: use fuse_with_base")


@dataclass
class ContextDelta(ProxyTuning):
    """The context delta: cloud + alpha * (edge with the notes - edge without them).

    Proxy-tuning with the edge as its own base: what the notes change in the small model's
    distribution is added to the large one's, so where the notes do not matter the cloud's
    choice stands, and where they do, the notes' tokens win.
    """

    name: str = "delta"


RULES = FUSE_RULES  # the names the config accepts


def make_rule(name: str, cloud_weight: float = 0.5, gate_file: Path | None = None, alpha: float = 1.0) -> FusionRule:
    """The rule called `name` (one of RULES)."""
    if name == "fixed":
        return FixedWeight(cloud_weight)
    if name == "entropy":
        return EntropyAdaptive()
    if name == "gate":
        if gate_file is None or not gate_file.exists():
            raise FileNotFoundError(
                f"no trained fusion gate at {gate_file}: run `tandem fuse train-gate` first"
            )
        return LearnedGate.load(gate_file)
    if name == "proxy":
        return ProxyTuning(alpha)
    if name == "delta":
        return ContextDelta(alpha)
    raise ValueError(f"unknown fusion rule '{name}' (known: {', '.join(RULES)})")

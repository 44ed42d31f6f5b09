"""Train the learned fusion gate on the device.

Examples come from synthetic personalized-writing tasks (edge_agent.synthetic, never
the benchmark's tasks): the edge model reads notes + instruction, the cloud model only
the instruction, and both are teacher-forced along a gold answer that uses the notes.
At each position the gate sees six numbers from the two top-k distributions and learns
the cloud weight w that makes the gold token most likely under
fused = (1 - w) * edge + w * cloud. The result is 6 weights in a JSON file.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_agent.context import PrivateContext
from edge_agent.fusion.rules import GATE_FEATURES, candidates, gate_features
from edge_agent.local_model import EdgeModel
from edge_agent.privacy import PrivacyGuard
from edge_agent.strategies import prompts
from runtime import kv
from runtime.llm import ChatMessage

PAD = -1e9


@dataclass
class GateData:
    features: np.ndarray  # (n, 6)
    edge: np.ndarray  # (n, K) candidate log-probs, padded with PAD
    cloud: np.ndarray  # (n, K)
    target: np.ndarray  # (n,) index of the gold token among the candidates

    def __len__(self) -> int:
        return len(self.target)

    def subset(self, rows: np.ndarray) -> GateData:
        return GateData(self.features[rows], self.edge[rows], self.cloud[rows], self.target[rows])


def collect(edge: EdgeModel, cloud: EdgeModel, tasks, top_k: int = 20, max_gold_tokens: int = 96) -> GateData:
    """Teacher-force both models along each task's first gold answer; one row per position."""
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
    for task in tasks:
        notes = PrivateContext(task.notes)
        guard = PrivacyGuard(notes.lines)
        gold = edge.llm.tokenize(task.golds[0].encode("utf-8"), add_bos=False, special=False)[:max_gold_tokens]
        edge_prompt = edge.chat_tokens(prompts.edge_messages(task.instruction, notes))
        cloud_prompt = cloud.chat_tokens([ChatMessage("system", prompts.CLOUD_PUBLIC_SYSTEM),
                                          ChatMessage("user", guard.redact(task.instruction).text)])
        kv.truncate(edge.llm, 0)
        kv.truncate(cloud.llm, 0)
        edge_rows = kv.log_softmax(kv.extend(edge.llm, edge_prompt + gold, logit_rows=len(gold) + 1))
        cloud_rows = kv.log_softmax(kv.extend(cloud.llm, cloud_prompt + gold, logit_rows=len(gold) + 1))
        for i, token in enumerate(gold):
            ids, lps = kv.top_k(cloud_rows[i], top_k)
            c = candidates(edge_rows[i], ids.tolist(), lps.tolist(), top_k)
            where = np.nonzero(c.ids == token)[0]
            if where.size:
                rows.append((gate_features(c), c.edge, c.cloud, int(where[0])))
    width = max(len(r[1]) for r in rows)
    pad = lambda v: np.concatenate([v, np.full(width - len(v), PAD)])  # noqa: E731
    return GateData(np.stack([r[0] for r in rows]), np.stack([pad(r[1]) for r in rows]),
                    np.stack([pad(r[2]) for r in rows]), np.array([r[3] for r in rows]))


def _loss_and_grad_w(data: GateData, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of the gold token and its derivative in each row's w."""
    s = data.edge + w[:, None] * (data.cloud - data.edge)
    s_max = s.max(axis=1, keepdims=True)
    p = np.exp(s - s_max)
    z = p.sum(axis=1, keepdims=True)
    p /= z
    rows = np.arange(len(data))
    nll = -(s[rows, data.target] - s_max[:, 0] - np.log(z[:, 0]))
    diff = np.where(data.edge <= PAD / 2, 0.0, data.cloud - data.edge)
    grad_w = -diff[rows, data.target] + (p * diff).sum(axis=1)
    return float(nll.mean()), grad_w / len(data)


def fixed_loss(data: GateData, w: float) -> float:
    return _loss_and_grad_w(data, np.full(len(data), w))[0]


def entropy_loss(data: GateData) -> float:
    h_e, h_c = data.features[:, 1], data.features[:, 2]
    w = np.where(h_e + h_c > 1e-9, h_e / np.maximum(h_e + h_c, 1e-9), 0.5)
    return _loss_and_grad_w(data, w)[0]


def fit(data: GateData, steps: int = 400, lr: float = 0.5) -> np.ndarray:
    """Gradient descent with Adam on theta (6 numbers), from theta = 0 (w = 0.5)."""
    theta = np.zeros(len(GATE_FEATURES))
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    scale = np.maximum(np.abs(data.features).max(axis=0), 1e-6)
    x = data.features / scale  # features on comparable scales; folded back into theta at the end
    for t in range(1, steps + 1):
        w = 1.0 / (1.0 + np.exp(-np.clip(x @ theta, -30, 30)))
        _, grad_w = _loss_and_grad_w(data, w)
        grad = x.T @ (grad_w * w * (1 - w))
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        theta -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return theta / scale


def gate_loss(data: GateData, theta: np.ndarray) -> float:
    w = 1.0 / (1.0 + np.exp(-np.clip(data.features @ theta, -30, 30)))
    return _loss_and_grad_w(data, w)[0]


def train(edge: EdgeModel, cloud: EdgeModel, n_tasks: int, out: Path, seed: int = 1234) -> dict:
    """Collect, split 80/20, fit, and write the gate; returns the report that is also saved."""
    from edge_agent.synthetic import make_tasks

    started = time.perf_counter()
    data = collect(edge, cloud, make_tasks(n_tasks, seed=seed))
    order = np.random.default_rng(seed).permutation(len(data))
    cut = int(0.8 * len(data))
    train_set, held_out = data.subset(order[:cut]), data.subset(order[cut:])
    theta = fit(train_set)
    report = {
        "theta": [round(float(t), 6) for t in theta],
        "features": list(GATE_FEATURES),
        "positions": {"train": len(train_set), "held_out": len(held_out)},
        "held_out_nll": {
            "edge_only": round(fixed_loss(held_out, 0.0), 4),
            "cloud_only": round(fixed_loss(held_out, 1.0), 4),
            "fixed_0.5": round(fixed_loss(held_out, 0.5), 4),
            "entropy": round(entropy_loss(held_out), 4),
            "gate": round(gate_loss(held_out, theta), 4),
        },
        "tasks": n_tasks,
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 1),
        "models": {"edge": edge.path.name, "cloud": cloud.path.name},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report

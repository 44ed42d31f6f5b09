"""Training the fusion gate with real models (SmolLM2 on both sides, a few synthetic tasks)."""

import json
from pathlib import Path

import numpy as np

from edge_agent.fusion.gate import collect, fit, fixed_loss, gate_loss, train
from edge_agent.fusion.rules import LearnedGate
from edge_agent.local_model import EdgeModel
from edge_agent.synthetic import make_tasks


def test_gate_fits_better_than_its_start_and_saves(smol_path: Path, tmp_path: Path) -> None:
    edge = EdgeModel(smol_path, n_ctx=1024, n_threads=1)
    try:
        data = collect(edge, edge, make_tasks(3, seed=5), max_gold_tokens=32)
        assert len(data) > 30 and data.features.shape[1] == 6
        assert np.all(data.target < data.edge.shape[1])
        theta = fit(data, steps=100)
        assert np.all(np.isfinite(theta))
        assert gate_loss(data, theta) <= fixed_loss(data, 0.5) + 1e-9  # it starts at w = 0.5
        report = train(edge, edge, 3, tmp_path / "gate.json")
    finally:
        edge.close()
    saved = json.loads((tmp_path / "gate.json").read_text())
    assert saved["theta"] == report["theta"] and set(saved["held_out_nll"]) >= {"fixed_0.5", "gate", "entropy"}
    assert len(LearnedGate.load(tmp_path / "gate.json").theta) == 6

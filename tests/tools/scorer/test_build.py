"""The build's network and ONNX export (needs torch: the `build` extra, as `make scorer` installs it)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the build extra (torch) is not installed: `make scorer` installs it")

from edge_agent.scoring.scorer import encode, load_tokenizer  # noqa: E402
from tools.scorer import build  # noqa: E402


def test_a_small_cross_encoder_exports_to_an_equivalent_onnx_graph(tmp_path):
    import onnxruntime as ort

    torch.manual_seed(0)
    model = build.CrossEncoder(build.BertConfig(hidden=32, layers=1, heads=2, intermediate=64))
    model.eval()
    tokenizer = load_tokenizer()
    path = tmp_path / "tiny.onnx"
    build.export_onnx(model, path, tokenizer)
    pairs = [("Email Oskar about the leak.", "Hi Oskar, the sink leaks."), ("Short.", "A much longer answer " * 5)]
    arrays = encode(tokenizer, pairs)
    with torch.no_grad():
        expected = torch.sigmoid(model(**{k: torch.from_numpy(v) for k, v in arrays.items()})).numpy()
    (got,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, arrays)
    assert got.shape == (2,)
    assert np.allclose(got, expected, atol=1e-5)
    # padding does not change a pair's score: the same pair alone, unpadded
    (alone,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, encode(tokenizer, pairs[:1]))
    assert np.allclose(alone[0], got[0], atol=1e-5)

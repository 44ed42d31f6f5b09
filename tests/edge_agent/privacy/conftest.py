"""Fixtures the canary tests share: the small edge model and its tokenizer (one load per module)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.local_model import EdgeModel
from runtime.llm import load_llama


@pytest.fixture(scope="module")
def edge_model(smol_path: Path) -> EdgeModel:
    model = EdgeModel(smol_path, n_ctx=2048, n_threads=1)
    yield model
    model.close()


@pytest.fixture(scope="module")
def tokenize(smol_path: Path):
    """Text to SmolLM2 token ids (no BOS, no special tokens), to find canaries sent as ids."""
    vocab = load_llama(smol_path, n_ctx=64)
    return lambda text: vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False)

"""MiniLM embeddings through onnxruntime: unit vectors, batch-independent, semantically sensible."""

from __future__ import annotations

import numpy as np
import pytest

from edge_agent.retrieval import DIM, Embedder, from_blobs, to_blob, top_k


def test_embeddings_are_unit_vectors(embedder: Embedder) -> None:
    vectors = embedder.embed(["My landlord is Mrs Alvarez.", "Dentist on Friday", "x"])
    assert vectors.shape == (3, DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, DIM)


def test_padding_in_a_batch_does_not_change_an_embedding(embedder: Embedder) -> None:
    alone = embedder.embed_one("short")
    batched = embedder.embed(["short", "a much longer sentence that forces the short one to be padded " * 3])[0]
    assert np.allclose(alone, batched, atol=1e-5)


def test_similar_meanings_score_higher(embedder: Embedder) -> None:
    notes = ["The heating in my flat is broken.", "I bake bread on Sundays.", "My dentist is Dr Chen."]
    vectors = embedder.embed(notes)
    assert top_k(embedder.embed_one("the radiator is cold"), vectors, 1)[0][0] == 0
    assert top_k(embedder.embed_one("tooth check-up"), vectors, 1)[0][0] == 2


def test_top_k_orders_by_score_and_handles_small_inputs() -> None:
    vectors = np.array([[1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32)
    assert [row for row, _ in top_k(np.array([0.8, 0.6], dtype=np.float32), vectors, 3)] == [1, 0, 2]
    assert len(top_k(np.array([1, 0], dtype=np.float32), vectors, 10)) == 3
    assert top_k(np.array([1, 0], dtype=np.float32), vectors[:0], 3) == []


def test_blob_round_trip() -> None:
    vectors = np.random.default_rng(0).standard_normal((4, DIM)).astype(np.float32)
    assert np.array_equal(from_blobs([to_blob(v) for v in vectors]), vectors)


def test_embeddings_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        from_blobs([to_blob(np.ones(4, dtype=np.float32)), to_blob(np.ones(8, dtype=np.float32))])

"""Nearest neighbours by cosine similarity over unit vectors (exact, in memory).

A person's notes are thousands of chunks at most: a matrix product is exact and
takes well under a millisecond, so there is no index to keep in sync.
"""

from __future__ import annotations

import numpy as np


def top_k(query: np.ndarray, vectors: np.ndarray, k: int) -> list[tuple[int, float]]:
    """(row, score) of the k rows most similar to `query`, best first."""
    if k <= 0 or len(vectors) == 0:
        return []
    scores = vectors @ query
    k = min(k, len(scores))
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(int(i), float(scores[i])) for i in best]


def to_blob(vector: np.ndarray) -> bytes:
    """How a vector is stored in SQLite: little-endian float32 bytes."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blobs(blobs: list[bytes]) -> np.ndarray:
    """Blobs written by `to_blob` as a float32 matrix, one row each ((0, 0) for none); all must have one length."""
    if not blobs:
        return np.zeros((0, 0), dtype=np.float32)
    if len({len(blob) for blob in blobs}) > 1:
        raise ValueError(f"embeddings of different lengths: {sorted({len(blob) for blob in blobs})} bytes")
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1).astype(np.float32)

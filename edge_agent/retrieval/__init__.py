"""Retrieval over the private store: MiniLM sentence embeddings (ONNX) and exact cosine search."""

from edge_agent.retrieval.embedder import DIM, Embedder
from edge_agent.retrieval.search import from_blobs, to_blob, top_k

__all__ = ["DIM", "Embedder", "from_blobs", "to_blob", "top_k"]

"""The Cappy-style answer scorer: an ONNX cross-encoder run with onnxruntime (build.py makes it, with torch)."""

from edge_agent.scoring.scorer import ARTIFACT, Scorer, format_query

__all__ = ["ARTIFACT", "Scorer", "format_query"]

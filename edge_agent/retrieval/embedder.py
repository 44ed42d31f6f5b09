"""Sentence embeddings with all-MiniLM-L6-v2 (int8 ONNX) on the CPU.

The encoder gives one 384-d vector per token; a sentence's embedding is the mean
over its real (non-padding) tokens, L2-normalized, as sentence-transformers does.
Cosine similarity is then a dot product.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DIM = 384
MAX_TOKENS = 256  # the model was trained on 128-256 token pieces; longer input is truncated
BATCH = 16

ENCODER_MODEL = "minilm-onnx-int8"
TOKENIZER_MODEL = "minilm-tokenizer"


class Embedder:
    """Loads the encoder and tokenizer on first use; thread-safe."""

    def __init__(self, model_path: Path | None = None, tokenizer_path: Path | None = None, n_threads: int = 1) -> None:
        self._model_path = model_path
        self._tokenizer_path = tokenizer_path
        self._n_threads = n_threads  # one thread: the LLM needs the cores more
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def load(self) -> Embedder:
        """Load now (the daemon does this at start so the first search is fast)."""
        with self._lock:
            if self._session is None:
                self._load()
        return self

    def _load(self) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        from runtime.models import resolve_model

        model_path = self._model_path or resolve_model(ENCODER_MODEL)
        tokenizer_path = self._tokenizer_path or resolve_model(TOKENIZER_MODEL)
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the longest in the batch only
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._n_threads
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False  # measured: ~90 MB less resident memory, same speed
        self._session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = tokenizer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, shape (len(texts), 384), float32."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        self.load()
        with self._lock:  # one run at a time keeps memory flat
            parts = [self._embed_batch(list(texts[i:i + BATCH])) for i in range(0, len(texts), BATCH)]
        return np.concatenate(parts)

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.zeros_like(ids)
        (hidden,) = self._session.run(
            ["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        """The unit vector (384 float32) of one text."""
        return self.embed([text])[0]

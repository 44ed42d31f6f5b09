"""The Cappy-style scorer at run time: s(instruction with notes, response) in [0, 1], with onnxruntime.

The graph (built by `make scorer`, see build.py) is a MiniLM cross-encoder: BERT over
"[CLS] query [SEP] response [SEP]", mean pooling, a linear head and a sigmoid. No torch here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.models import CATALOG, ModelError, model_path

ARTIFACT = Path(__file__).with_name("scorer.onnx")
TOKENIZER_MODEL = "minilm-tokenizer"  # catalog name of the tokenizer.json the scorer was trained with
MAX_LENGTH = 256
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def format_query(instruction: str, notes: str = "") -> str:
    """The scorer's first segment: the instruction, then the private notes it was asked with."""
    notes = notes.strip()
    return f"{instruction.strip()}\nNotes:\n{notes}" if notes else instruction.strip()


def info_path(artifact: Path) -> Path:
    """The JSON that describes an artifact (sha256, build settings, metrics)."""
    return artifact.with_suffix(".json")


def load_tokenizer(path: Path | None = None, max_length: int = MAX_LENGTH):
    """The MiniLM WordPiece tokenizer, truncating pairs to `max_length` and not padding."""
    from tokenizers import Tokenizer

    if path is None:
        spec = CATALOG[TOKENIZER_MODEL]
        path = model_path(spec)
        if not path.is_file():
            raise ModelError(f"the scorer needs its tokenizer: run `tandem models install {TOKENIZER_MODEL}`")
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=max_length, strategy="longest_first")
    tokenizer.no_padding()
    return tokenizer


def encode(tokenizer, pairs: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
    """int64 arrays input_ids / attention_mask / token_type_ids, padded to the longest pair."""
    encodings = tokenizer.encode_batch([(q, r) for q, r in pairs])
    width = max(len(e.ids) for e in encodings)
    arrays = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in INPUT_NAMES}
    for row, e in enumerate(encodings):
        n = len(e.ids)
        arrays["input_ids"][row, :n] = e.ids
        arrays["attention_mask"][row, :n] = 1
        arrays["token_type_ids"][row, :n] = e.type_ids
    return arrays


@dataclass(frozen=True)
class ScorerInfo:
    """What scorer.json says about the artifact."""

    sha256: str
    max_length: int
    raw: dict

    @classmethod
    def read(cls, path: Path) -> ScorerInfo:
        """Parse scorer.json; ModelError (naming the file and `make scorer`) if it is unreadable or has no sha256."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(sha256=raw["sha256"], max_length=int(raw.get("max_length", MAX_LENGTH)), raw=raw)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"the scorer's description {path} is unreadable ({exc}): rebuild it with `make scorer`") from None


class Scorer:
    """Scores (query, response) pairs in batches; load once, score many."""

    def __init__(self, session, tokenizer, info: ScorerInfo, batch_size: int = 16) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self.info = info
        self.batch_size = batch_size

    @classmethod
    def load(cls, artifact: Path | None = None, tokenizer_path: Path | None = None, threads: int = 0) -> Scorer:
        """Open the shipped artifact (or `artifact`); check its sha256 against its JSON."""
        import onnxruntime as ort

        from runtime.llm import default_threads

        artifact = Path(artifact) if artifact else ARTIFACT
        if not artifact.is_file():
            raise ModelError(f"the scorer model {artifact} is missing: build it with `make scorer`")
        info = ScorerInfo.read(info_path(artifact))
        actual = hashlib.sha256(artifact.read_bytes()).hexdigest()
        if actual != info.sha256:
            raise ModelError(
                f"the scorer model {artifact} does not match {info_path(artifact).name} "
                f"(sha256 {actual[:12]}..., expected {info.sha256[:12]}...): rebuild it with `make scorer`"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = default_threads(threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(artifact), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelError(f"onnxruntime cannot open the scorer model {artifact} ({exc}): rebuild it with `make scorer`") from None
        return cls(session, load_tokenizer(tokenizer_path, info.max_length), info)

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """One score in [0, 1] per (query, response) pair, higher = better answer to that query."""
        scores: list[float] = []
        for start in range(0, len(pairs), self.batch_size):
            batch = encode(self._tokenizer, pairs[start:start + self.batch_size])
            (out,) = self._session.run(None, batch)
            scores.extend(float(s) for s in np.asarray(out).reshape(-1))
        return scores

    def score_answer(self, instruction: str, notes: str, answer: str) -> float:
        """Convenience: the score of one answer to an instruction asked with private notes."""
        return self.score([(format_query(instruction, notes), answer)])[0]

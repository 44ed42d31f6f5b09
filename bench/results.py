"""One measured (task, strategy) answer, and the JSONL cache that lets an interrupted run resume.

A row is keyed by (task id, task digest, strategy, edge model, cloud model, max_tokens, setup):
change any of them and the answer is made again. `setup` hashes what else the strategy's answer
depends on (its settings, its prompt texts, ...: see answer_key); rows written before it
existed load with setup "" and match no key made now. The judge's and the scorer's verdicts
are stored on the row too, and filled in later when a run had them switched off.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from bench.tasks import Task

CACHE_FILE = "quality.jsonl"


def task_digest(task: Task) -> str:
    """A short hash of the task's content, so an edited task is not answered from the cache."""
    data = json.dumps(dataclasses.asdict(task), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class RowKey:
    task_id: str
    task_digest: str
    strategy: str
    edge_model: str
    cloud_model: str
    max_tokens: int
    setup: str = ""  # answer_key.answer_setup(): the strategy's settings, prompts and other inputs


@dataclass
class Row:
    """What one strategy did on one task."""

    key: RowKey
    answer: str = ""
    fact_recall: float = 0.0
    leaked: list[str] = field(default_factory=list)  # canaries found in the bytes the cloud received
    leak_hits: int = 0  # (canary, received message) pairs
    received: int = 0  # messages the cloud received for this answer
    capture_matches_audit: bool = True  # the cloud received exactly what the edge audited
    first_text_s: float | None = None
    total_s: float = 0.0
    tokens: int = 0  # the answer's length in edge-model tokens
    tok_s: float | None = None  # (tokens - 1) / (total - first text): decode speed as the user sees it
    bytes_up: int = 0
    bytes_down: int = 0
    rpcs: int = 0
    answered_by: str = ""
    fallback: str = ""
    context_sent: bool = False
    error: str = ""  # the strategy failed; such rows are reported but never cached
    judge: float | None = None
    judge_mass: float | None = None
    judge_probs: list[float] | None = None
    judge_method: str = ""
    scorer: float | None = None
    scorer_version: str = ""  # the scorer artifact's sha256 prefix: a rebuilt scorer scores again
    pairwise: dict | None = None  # pairwise.StoredVerdict against the baseline's answer to the same task

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Row:
        data = json.loads(line)
        key = RowKey(**data.pop("key"))
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(key=key, **{k: v for k, v in data.items() if k in names})


class ResultCache:
    """Rows by key, backed by an append-only JSONL file (the last line for a key wins)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[RowKey, Row] = {}
        self._torn = False  # the file ends in the middle of a line (an interrupted write)
        if path.exists():
            text = path.read_text(encoding="utf-8")
            self._torn = bool(text) and not text.endswith("\n")
            for line in text.splitlines():
                if not line.strip():
                    continue
                try:
                    row = Row.from_json(line)
                except (ValueError, TypeError, KeyError):
                    continue  # a line cut short by an interrupted write
                self.rows[row.key] = row

    def get(self, key: RowKey) -> Row | None:
        return self.rows.get(key)

    def put(self, row: Row) -> None:
        if row.error:
            return
        self.rows[row.key] = row
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(("\n" if self._torn else "") + row.to_json() + "\n")
        self._torn = False

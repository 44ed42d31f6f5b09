"""The edge agent: answers a request with a strategy, keeping private context on the device."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from edge_agent.cloud_client import CloudClient
from edge_agent.config import Config
from edge_agent.decode import DecodeResult
from edge_agent.llm import ChatMessage
from edge_agent.local_model import EdgeModel
from edge_agent.models import resolve_model
from edge_agent.privacy import AuditLog, PrivacyGuard
from edge_agent.quality import Quality
from edge_agent.strategies import RUNNERS, AnswerReport, AskRequest


@dataclass
class Answer:
    """A streaming answer: iterate for text pieces; `report` is complete once iteration ends."""

    pieces: Iterator[str]
    report: AnswerReport

    def __iter__(self) -> Iterator[str]:
        return self.pieces

    def cancel(self) -> None:
        """Stop generating at the next token (and close any cloud stream)."""
        self.report.cancel.set()

    def text(self) -> str:
        """Consume the whole answer and return it."""
        for _ in self.pieces:
            pass
        return self.report.text


class EdgeAgent:
    """Holds the edge model (loaded once, on first use) and runs strategies."""

    def __init__(self, config: Config, edge_model: EdgeModel | None = None, audit: AuditLog | None = None) -> None:
        self.config = config
        self._edge_model = edge_model
        self.audit = audit or AuditLog(config.privacy.audit_path())
        self.edge_lock = threading.Lock()  # one generation at a time on the edge model
        self.quality = Quality()
        self._base_model: EdgeModel | None = None

    @property
    def config_file(self) -> str:
        return self.config.source if self.config.source != "defaults" else "~/.config/tandem/config.toml"

    @property
    def edge_model(self) -> EdgeModel:
        if self._edge_model is None:
            path: Path = resolve_model(self.config.edge.model)
            self._edge_model = EdgeModel(path, n_ctx=self.config.edge.n_ctx, n_threads=self.config.edge.n_threads)
        return self._edge_model

    def cloud_client(self, guard: PrivacyGuard, request_id: str) -> CloudClient:
        return CloudClient(
            self.config.cloud.address, self.audit, guard,
            timeout_s=self.config.cloud.timeout_s, connect_timeout_s=self.config.cloud.connect_timeout_s,
            request_id=request_id, cloud=self.config.cloud,
        )

    def ask(self, request: AskRequest) -> Answer:
        """Start answering; nothing runs until the answer is iterated."""
        if request.strategy not in RUNNERS:
            raise ValueError(f"unknown strategy '{request.strategy}' (known: {', '.join(RUNNERS)})")
        report = AnswerReport(strategy=request.strategy, request_id=uuid.uuid4().hex[:12])
        return Answer(pieces=self._run(request, report), report=report)

    def _run(self, request: AskRequest, report: AnswerReport) -> Iterator[str]:
        guard = PrivacyGuard(request.context.guard_lines)
        with self.cloud_client(guard, report.request_id) as cloud:
            try:
                for piece in RUNNERS[request.strategy](self, request, report, cloud):
                    if report.cancel.is_set():
                        break
                    report.note_text(piece)
                    yield piece
                if not report.cancel.is_set():
                    self._judge(request, report)
            finally:
                report.wire = cloud.stats
                report.finish()

    def _judge(self, request: AskRequest, report: AnswerReport) -> None:
        """Attach the scorer's score (and, if configured, the verifier's verdict) to the answer."""
        if not report.text.strip():
            return
        if report.score is None and self.config.quality.score:
            scores = self.quality.score(request.instruction, request.context.text, [report.text])
            report.score = scores[0] if scores else None
        if report.verdict is None and self.config.quality.verify:
            with self.edge_lock:
                verdict = self.quality.verify(self.edge_model, request.instruction, request.context.text, report.text)
            report.verdict, report.verdict_probs = verdict.label, dict(verdict.probs)

    def stream_edge(
        self,
        messages: Sequence[ChatMessage],
        request: AskRequest,
        report: AnswerReport,
        assistant_prefix: str = "",
    ) -> Iterator[str]:
        """Generate with the edge model, counting its tokens into the report."""
        result = DecodeResult()
        with self.edge_lock:
            try:
                yield from self.edge_model.stream_chat(
                    messages, max_tokens=request.max_tokens, temperature=request.temperature,
                    seed=request.seed, should_stop=report.cancel.is_set,
                    result=result, assistant_prefix=assistant_prefix,
                )
            finally:
                report.edge_tokens += result.completion_tokens

    def proxy_base_row(self, messages: Sequence[ChatMessage]):
        """For proxy-tuning: a function giving the base model's log-probs after some answer tokens."""
        from edge_agent import kv

        if self._base_model is None:
            path = resolve_model(self.config.fuse.base_model)
            self._base_model = EdgeModel(path, n_ctx=self.config.edge.n_ctx, n_threads=self.config.edge.n_threads)
        base = self._base_model
        prompt = base.chat_tokens(messages)
        return lambda answer: kv.log_softmax(kv.sync_to(base.llm, prompt + list(answer))[-1])

    def close(self) -> None:
        if self._base_model is not None:
            self._base_model.close()
            self._base_model = None
        if self._edge_model is not None:
            self._edge_model.close()
            self._edge_model = None

"""The edge model as the strategies share it: loaded once, one generation at a time."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from edge_agent.config import Config
from edge_agent.local_model import EdgeModel
from runtime import kv
from runtime.decode import DecodeResult
from runtime.llm import ChatMessage
from runtime.models import resolve_model

if TYPE_CHECKING:
    from edge_agent.strategies.base import AskRequest
    from edge_agent.strategies.report import AnswerReport


class EdgeRuntime:
    """Holds the edge model (loaded on first use) and the lock that serializes its use."""

    def __init__(self, config: Config, model: EdgeModel | None = None) -> None:
        self.config = config
        self._model = model
        self._owns_model = model is None
        self._base_model: EdgeModel | None = None
        self.lock = threading.Lock()  # one generation at a time on the edge model

    @property
    def model(self) -> EdgeModel:
        """The edge model; the first access loads it (seconds)."""
        if self._model is None:
            path = resolve_model(self.config.edge.model)
            self._model = EdgeModel(path, n_ctx=self.config.edge.n_ctx, n_threads=self.config.edge.n_threads)
        return self._model

    def load(self) -> EdgeModel:
        """Load the model now (so that a missing model is reported before anything streams)."""
        return self.model

    def stream(
        self,
        messages: Sequence[ChatMessage],
        request: AskRequest,
        report: AnswerReport,
        assistant_prefix: str = "",
    ) -> Iterator[str]:
        """Generate with the edge model under the lock, counting its tokens into the report."""
        result = DecodeResult()
        with self.lock:
            try:
                yield from self.model.stream_chat(
                    messages, max_tokens=request.max_tokens, temperature=request.temperature,
                    seed=request.seed, should_stop=report.cancel.is_set,
                    result=result, assistant_prefix=assistant_prefix,
                )
            finally:
                report.edge_tokens += result.completion_tokens

    def proxy_base_row(self, messages: Sequence[ChatMessage]) -> Callable[[Sequence[int]], np.ndarray]:
        """For proxy-tuning: the base model's log-probs after some answer tokens (`fuse.base_model`)."""
        if self._base_model is None:
            path = resolve_model(self.config.fuse.base_model)
            self._base_model = EdgeModel(path, n_ctx=self.config.edge.n_ctx, n_threads=self.config.edge.n_threads)
        base = self._base_model
        prompt = base.chat_tokens(messages)
        return lambda answer: kv.log_softmax(kv.sync_to(base.llm, prompt + list(answer))[-1])

    def close(self) -> None:
        """Free the models this runtime loaded (a model handed in is the caller's to close)."""
        if self._base_model is not None:
            self._base_model.close()
            self._base_model = None
        if self._model is not None and self._owns_model:
            self._model.close()
        self._model = None if self._owns_model else self._model

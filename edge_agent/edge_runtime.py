"""The edge model as the strategies share it: loaded once, one generation at a time.

It also keeps the KV states of recent answers (`PromptCache`, `edge.kv_cache_mb`), so that the
next turn of a conversation, even after other conversations ran in between, evaluates only
its new tokens.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from edge_agent.config import Config
from edge_agent.local_model import EdgeModel
from edge_agent.prompt_cache import PromptCache
from runtime import kv
from runtime.decode import FINISH_STOP, DecodeResult
from runtime.llm import ChatMessage, load_vocab
from runtime.models import resolve_model

if TYPE_CHECKING:
    from edge_agent.strategies.base import AskRequest
    from edge_agent.strategies.report import AnswerReport


def _prime_next_turn(model: EdgeModel) -> None:
    """Read the template's tokens that follow a finished answer (end of turn, start of the user's next)
    now, while the user reads: a follow-up then evaluates only its own words. If the next turn starts
    otherwise (e.g. with new notes), the saved state is used up to where they differ."""
    tokens = model.next_turn_tokens
    if not tokens or model.llm.n_tokens + len(tokens) >= model.n_ctx:
        return
    kv.extend(model.llm, tokens)


class EdgeRuntime:
    """Holds the edge model (loaded on first use) and the lock that serializes its use."""

    def __init__(self, config: Config, model: EdgeModel | None = None) -> None:
        self.config = config
        self._model = model
        self._owns_model = model is None
        self._base_model: EdgeModel | None = None
        self._vocab = None  # a vocabulary-only load, to count tokens before the model is loaded
        self._vocab_lock = threading.Lock()
        self.lock = threading.Lock()  # one generation at a time on the edge model
        self.cache = PromptCache(config.edge.kv_cache_mb * 1024 * 1024)

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

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes for the edge model (its vocabulary alone is read if it is not loaded yet)."""
        if self._model is not None:
            return self._model.count_tokens(text)
        with self._vocab_lock:
            if self._vocab is None:
                self._vocab = load_vocab(resolve_model(self.config.edge.model))
        return len(self._vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(
        self,
        messages: Sequence[ChatMessage],
        request: AskRequest,
        report: AnswerReport,
        assistant_prefix: str = "",
    ) -> Iterator[str]:
        """Generate with the edge model under the lock, counting its tokens into the report.

        The prompt starts from the saved KV state that shares most of it, and the state after the
        answer is saved in turn.
        """
        result = DecodeResult()
        with self.lock:
            model = self.model
            tokens = model.prompt_tokens(messages, assistant_prefix)
            report.prompt_tokens = len(tokens)
            report.cached_tokens = self.cache.prepare(model.llm, tokens)
            try:
                yield from model.stream_tokens(
                    tokens, max_tokens=request.max_tokens, temperature=request.temperature,
                    seed=request.seed, should_stop=report.cancel.is_set, result=result,
                )
            finally:
                report.edge_tokens += result.completion_tokens
                if result.finish == FINISH_STOP and not report.cancel.is_set():
                    _prime_next_turn(model)
                self.cache.keep(model.llm)

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
        self.cache.clear()
        if self._vocab is not None:
            self._vocab.close()
            self._vocab = None
        if self._base_model is not None:
            self._base_model.close()
            self._base_model = None
        if self._model is not None and self._owns_model:
            self._model.close()
        self._model = None if self._owns_model else self._model

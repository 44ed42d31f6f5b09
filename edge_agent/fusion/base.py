"""The base distribution of the difference rules: what the edge would write without the notes.

The context-delta rule adds (edge with the notes - edge without them) to the cloud. The
"without" side is the edge model reading exactly what the cloud reads (its system prompt and
the redacted instruction) and the same answer tokens. It runs in a second llama.cpp context
on the edge model's weights (no second copy of the model; its own KV cache), and reads the
tokens of a round in one call rather than one call per token.

Every token is read in calls of exactly `BATCH` tokens (`kv.extend_fixed`), so a row does not
depend on how the decoder grouped its tokens: exact fusion stays identical, speculative or
step by step. The proxy rule's base (a third model, `fuse.base_model`) fits the same interface.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from runtime import kv

BATCH = 8  # tokens per decode call of the base sequence
_KEEP_ROWS = 48  # rows kept for positions near the end of the answer


class BaseRows(Protocol):
    def rows(self, answer: Sequence[int], n: int) -> list[np.ndarray]:
        """Log-probabilities of the next token after answer[:len - n + 1], ..., after the whole answer."""


class SecondContext:
    """A llama.cpp context on an edge model's weights, shaped like `llama_cpp.Llama` for `runtime.kv`.

    Closed with the model (it is registered on the model's exit stack, so it is freed first).
    """

    def __init__(self, llm, n_ctx: int) -> None:
        from llama_cpp import _internals as internals

        params = type(llm.context_params).from_buffer_copy(llm.context_params)
        params.n_ctx = n_ctx
        self._ctx = internals.LlamaContext(model=llm._model, params=params, verbose=False)
        self._batch = internals.LlamaBatch(n_tokens=llm.n_batch, embd=0, n_seq_max=1, verbose=False)
        self.n_batch = llm.n_batch
        self.input_ids = np.zeros(n_ctx, dtype=np.intc)
        self.n_tokens = 0
        self._n_ctx = n_ctx
        self._n_vocab = llm.n_vocab()
        llm._stack.enter_context(contextlib.closing(self))

    def n_ctx(self) -> int:
        return self._n_ctx

    def n_vocab(self) -> int:
        return self._n_vocab

    def close(self) -> None:
        """Free the context and its batch (idempotent)."""
        self._batch.close()
        self._ctx.close()


def second_context(llm) -> SecondContext:
    """The edge model's second context, made on first use and kept with the model (its prompt prefix is reused)."""
    context = getattr(llm, "_tandem_second_context", None)
    if context is None:
        context = SecondContext(llm, llm.n_ctx())
        llm._tandem_second_context = context
    return context


class WithoutNotes:
    """The edge without the notes, along the answer: the context-delta rule's base.

    `fixed`: read in calls of exactly BATCH tokens (exact fusion needs rows that do not depend
    on the grouping); else in plain calls, which cost a little less for a few tokens.
    """

    def __init__(self, edge_llm, prompt: Sequence[int], fixed: bool = True) -> None:
        self.seq = second_context(edge_llm)
        self.prompt = list(prompt)
        self.fixed = fixed
        self._rows: dict[int, np.ndarray] = {0: kv.log_softmax(kv.prefill(self.seq, self.prompt))}
        self.tokens_read = 0  # answer tokens evaluated (rejected drafts included): the pass's cost

    def rows(self, answer: Sequence[int], n: int) -> list[np.ndarray]:
        """See BaseRows.rows; reads only the answer tokens it has not read yet."""
        answer = list(answer)
        have = kv.committed(self.seq)[len(self.prompt):]
        common = kv.common_prefix(have, answer)
        kv.truncate(self.seq, len(self.prompt) + common)
        self._rows = {p: r for p, r in self._rows.items() if p <= common}
        new = answer[common:]
        if new:
            if len(self.prompt) + len(answer) - 1 + BATCH > self.seq.n_ctx():
                raise OverflowError("the answer no longer fits the edge's context")
            logits = kv.extend_fixed(self.seq, new, BATCH) if self.fixed else kv.extend(self.seq, new, len(new))
            self.tokens_read += len(new)
            for i, row in enumerate(logits):
                self._rows[common + i + 1] = kv.log_softmax(row)
        end = len(answer)
        for p in [p for p in self._rows if p < end - _KEEP_ROWS]:
            del self._rows[p]
        return [self._rows[p] for p in range(end - n + 1, end + 1)]


class BaseModelRows:
    """The proxy rule's base: a third model (`fuse.base_model`), one row at a time."""

    def __init__(self, row: Callable[[list[int]], np.ndarray]) -> None:
        self.row = row

    def rows(self, answer: Sequence[int], n: int) -> list[np.ndarray]:
        """See BaseRows.rows."""
        answer = list(answer)
        return [self.row(answer[: len(answer) - n + 1 + i]) for i in range(n)]

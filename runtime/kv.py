"""Direct control of a llama.cpp context's token sequence: append, truncate, read logits, save, restore.

Fused decoding needs logits at chosen positions (not a `logits_all` buffer of
n_ctx x n_vocab floats, 2.4 GB for Qwen's vocabulary) and needs to drop rejected
draft tokens from the KV cache. This keeps `llm.input_ids` / `llm.n_tokens` in step
so that llama-cpp-python's own calls (generate, prefix reuse) still work afterwards.
"""

from __future__ import annotations

import ctypes
import mmap
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def committed(llm) -> list[int]:
    """The tokens currently in the context (and its KV cache)."""
    return llm.input_ids[: llm.n_tokens].tolist()


def truncate(llm, n: int) -> None:
    """Keep the first `n` tokens; forget the rest from the KV cache."""
    if n < llm.n_tokens:
        llm._ctx.kv_cache_seq_rm(-1, n, -1)
        llm.n_tokens = n
    llm._tandem_prefilled = min(getattr(llm, "_tandem_prefilled", 0), n)


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens `a` and `b` share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def extend(llm, tokens: Sequence[int], logit_rows: int = 1) -> np.ndarray:
    """Append `tokens`; return the logits after each of the last `logit_rows` of them.

    Returns a float32 array of shape (logit_rows, n_vocab); row i is the distribution
    of the token that follows tokens[len(tokens) - logit_rows + i].
    """
    tokens = list(tokens)
    if not tokens:
        raise ValueError("extend() needs at least one token")
    if llm.n_tokens + len(tokens) > llm.n_ctx():
        raise OverflowError(f"{llm.n_tokens + len(tokens)} tokens do not fit the context of {llm.n_ctx()}")
    return _decode(llm, tokens, llm.n_batch, logit_rows, pad=False)


def extend_fixed(llm, tokens: Sequence[int], batch: int, logit_rows: int | None = None) -> np.ndarray:
    """Append `tokens` in decode calls of exactly `batch` tokens; return the logits after the
    last `logit_rows` of them (default: after every one).

    llama.cpp's floats for a token depend on how many tokens share its decode call
    (a different matrix kernel per batch size), not on which of them it is or how the
    sequence was split into calls. Padding every call to the same size, with copies of
    the call's last token placed after it and dropped from the KV cache afterwards, so
    gives each token the same logits however the caller groups the tokens.
    """
    tokens = list(tokens)
    if not tokens:
        raise ValueError("extend_fixed() needs at least one token")
    if llm.n_tokens + len(tokens) - 1 + batch > llm.n_ctx():
        raise OverflowError(f"{llm.n_tokens + len(tokens)} tokens and their padding do not fit the context of {llm.n_ctx()}")
    return _decode(llm, tokens, batch, len(tokens) if logit_rows is None else logit_rows, pad=True)


def _decode(llm, tokens: list[int], batch: int, logit_rows: int, pad: bool) -> np.ndarray:
    """Append `tokens` in calls of at most `batch` (exactly `batch` if `pad`); the last `logit_rows` rows of logits."""
    n_vocab = llm.n_vocab()
    first_row = len(tokens) - max(1, min(logit_rows, len(tokens)))
    rows: list[np.ndarray] = []
    llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
    for start in range(0, len(tokens), batch):
        chunk = tokens[start : start + batch]
        n_past = llm.n_tokens
        if pad:  # logits for every row, padding included: the output layer's batch size counts too
            llm._batch.set_batch(batch=chunk + [chunk[-1]] * (batch - len(chunk)), n_past=n_past, logits_all=True)
        else:
            llm._batch.set_batch(batch=chunk, n_past=n_past, logits_all=start + len(chunk) > first_row)
        llm._ctx.decode(llm._batch)
        if pad:
            llm._ctx.kv_cache_seq_rm(-1, n_past + len(chunk), -1)
        llm.input_ids[n_past : n_past + len(chunk)] = chunk
        llm.n_tokens += len(chunk)
        rows.extend(np.ctypeslib.as_array(llm._ctx.get_logits_ith(j), shape=(n_vocab,)).copy()
                    for j in range(len(chunk)) if start + j >= first_row)
    return np.stack(rows)


PROMPT_BATCH = 64  # tokens per decode call in `prefill`


def prefill(llm, tokens: Sequence[int]) -> np.ndarray:
    """Make the context hold exactly the prompt `tokens`; return the logits after the last one.

    Every prompt token is computed in a call of PROMPT_BATCH tokens (`extend_fixed`), so
    the prefix a previous `prefill` left in the cache holds the very floats a fresh
    evaluation would give: it is reused (the same notes are not read twice) and the
    answer still does not depend on what ran before. Code that rewrites the context
    any other way (llama-cpp-python's generate or eval) calls `forget_prefill` first.
    """
    tokens = list(tokens)
    reusable = min(common_prefix(committed(llm), tokens), getattr(llm, "_tandem_prefilled", 0), len(tokens) - 1)
    truncate(llm, reusable)
    if len(tokens) - 1 + PROMPT_BATCH > llm.n_ctx():  # no room for the padding: plain calls, nothing reusable
        return extend(llm, tokens[reusable:])[-1]
    logits = extend_fixed(llm, tokens[reusable:], PROMPT_BATCH, logit_rows=1)
    llm._tandem_prefilled = len(tokens)
    return logits[-1]


def forget_prefill(llm) -> None:
    """The context is about to be rewritten outside this module: no prefix is reusable by `prefill`."""
    llm._tandem_prefilled = 0


def sync_to(llm, tokens: Sequence[int], logit_rows: int = 1) -> np.ndarray:
    """Make the context hold exactly `tokens`, reusing the longest common prefix; return the last logits.

    At least the last `logit_rows` tokens are evaluated again so that their logits exist.
    """
    if not 1 <= max(1, logit_rows) <= len(tokens):
        raise ValueError(f"sync_to needs at least {max(1, logit_rows)} token(s), got {len(tokens)}")
    keep = min(common_prefix(committed(llm), tokens), len(tokens) - max(1, logit_rows))
    truncate(llm, keep)
    return extend(llm, tokens[keep:], logit_rows)


@dataclass
class SavedSequence:
    """The KV cache of one sequence, copied out of the context (for switching sessions)."""

    data: mmap.mmap | bytes  # llama.cpp's serialized sequence state
    tokens: list[int]


def save(llm) -> SavedSequence:
    """Copy sequence 0's KV cells (and its tokens) out of the context (for `restore`); the context is left as it is.

    The copy is an anonymous memory map of its own, written in place: dropping it gives the
    memory back to the system at once (freed malloc blocks of many MB stay in the heap once
    glibc has raised its mmap threshold, so a process that keeps replacing saved states grows).
    """
    import llama_cpp

    ctx = llm._ctx.ctx
    size = llama_cpp.llama_state_seq_get_size(ctx, 0)
    buffer = mmap.mmap(-1, max(size, 1))
    view = (ctypes.c_uint8 * size).from_buffer(buffer)
    written = llama_cpp.llama_state_seq_get_data(ctx, view, size, 0)
    del view  # the buffer may be closed only once no ctypes array points into it
    return SavedSequence(buffer if written == size else buffer[:written], committed(llm))


def restore(llm, saved: SavedSequence) -> None:
    """Replace the context's sequence with a saved one."""
    import llama_cpp

    llm._ctx.kv_cache_seq_rm(-1, 0, -1)
    forget_prefill(llm)
    size = len(saved.data)
    if isinstance(saved.data, mmap.mmap):  # read in place, no copy
        buffer = (ctypes.c_uint8 * size).from_buffer(saved.data)
    else:
        buffer = (ctypes.c_uint8 * size).from_buffer_copy(saved.data)
    if llama_cpp.llama_state_seq_set_data(llm._ctx.ctx, buffer, len(saved.data), 0) == 0:
        raise RuntimeError("llama.cpp could not restore a saved sequence")
    n = len(saved.tokens)
    llm.input_ids[:n] = saved.tokens
    llm.n_tokens = n


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64 for stable sums."""
    x = logits.astype(np.float64, copy=False)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def top_k(logprobs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k most likely ids of one row and their log-probabilities, most likely first (ties: lower id)."""
    k = min(k, logprobs.shape[-1])
    ids = np.argpartition(-logprobs, k - 1)[:k]
    order = np.lexsort((ids, -logprobs[ids]))
    ids = ids[order]
    return ids, logprobs[ids]

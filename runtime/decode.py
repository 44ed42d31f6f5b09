"""Token-by-token decoding with llama-cpp-python: UTF-8 safe, stop strings, cancellable.

Used by the edge model and by the cloud service's embedded backend.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from runtime import kv
from runtime.llm import eog_ids

FINISH_STOP = "stop"
FINISH_LENGTH = "length"
FINISH_CONTEXT = "context"
FINISH_CANCELLED = "cancelled"


@dataclass
class Piece:
    """New text and the tokens behind it (text may be empty while a character is incomplete)."""

    text: str
    token_ids: list[int] = field(default_factory=list)


@dataclass
class DecodeResult:
    finish: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0


def decode_stream(
    llm,
    prompt_tokens: Sequence[int],
    max_tokens: int,
    temperature: float = 0.0,
    seed: int = 0,
    stop: Sequence[str] = (),
    should_stop: Callable[[], bool] = lambda: False,
    result: DecodeResult | None = None,
) -> Iterator[Piece]:
    """Generate after `prompt_tokens`, yielding pieces of text as soon as they are whole.

    Stops at end-of-generation tokens, a stop string (not included), `max_tokens`,
    a full context, or when `should_stop()` turns true. `result` receives the reason.
    """
    result = result if result is not None else DecodeResult()
    result.prompt_tokens = len(prompt_tokens)
    room = llm.n_ctx() - len(prompt_tokens)
    budget = min(max_tokens, room)
    if budget <= 0:
        result.finish = FINISH_CONTEXT
        return
    llm.set_seed(seed)
    end_ids = eog_ids(llm)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    stop = [s for s in stop if s]
    held = ""  # text kept back because it may be the start of a stop string
    pending_ids: list[int] = []
    kv.forget_prefill(llm)  # generate() rewrites the context from the shared prefix on
    generator = llm.generate(
        list(prompt_tokens), temp=temperature, top_k=40 if temperature > 0 else 1,
        top_p=0.95 if temperature > 0 else 1.0, min_p=0.05 if temperature > 0 else 0.0,
        repeat_penalty=1.0, reset=True,
    )
    try:
        for token in generator:
            if should_stop():
                result.finish = FINISH_CANCELLED
                return
            if token in end_ids:
                result.finish = FINISH_STOP
                break
            result.completion_tokens += 1
            pending_ids.append(token)
            held += decoder.decode(llm.detokenize([token]))
            cut = _find_stop(held, stop)
            if cut is not None:
                yield Piece(held[:cut], pending_ids)
                held, pending_ids = "", []
                result.finish = FINISH_STOP
                return
            emit_upto = len(held) - _stop_prefix_len(held, stop)
            if emit_upto:
                yield Piece(held[:emit_upto], pending_ids)
                held, pending_ids = held[emit_upto:], []
            if result.completion_tokens >= budget:
                result.finish = FINISH_LENGTH if budget == max_tokens else FINISH_CONTEXT
                break
        else:
            result.finish = result.finish or FINISH_STOP
        held += decoder.decode(b"", final=True)
        if held or pending_ids:
            yield Piece(held, pending_ids)
    finally:
        generator.close()


def _stop_prefix_len(text: str, stop: Sequence[str]) -> int:
    """Length of the longest end of `text` that could be the start of a stop string."""
    longest = 0
    for s in stop:
        for n in range(min(len(s) - 1, len(text)), longest, -1):
            if text.endswith(s[:n]):
                longest = n
                break
    return longest


def _find_stop(text: str, stop: Sequence[str]) -> int | None:
    positions = [text.find(s) for s in stop if s]
    positions = [p for p in positions if p >= 0]
    return min(positions) if positions else None

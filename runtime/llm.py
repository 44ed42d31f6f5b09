"""Loading GGUF models with llama-cpp-python, and rendering their chat templates.

Shared by the edge agent and the cloud service so that both open models the same
way: quietly, with the thread count chosen once, and with a ModelError instead of a
traceback when the file is unusable.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from runtime.models import ModelError


@dataclass(frozen=True)
class ChatMessage:
    role: str  # "system", "user" or "assistant"
    content: str


def default_threads(requested: int = 0) -> int:
    """`requested` if positive, else the number of usable cores."""
    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """llama.cpp prints its load log straight to fd 2; hide it unless TANDEM_LLAMA_LOG is set."""
    if os.environ.get("TANDEM_LLAMA_LOG"):
        yield
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_llama(path: Path, n_ctx: int, n_threads: int = 0, seed: int = 0, logits_all: bool = False,
               n_batch: int = 512):
    """Open a GGUF file; raise ModelError with a fix if llama.cpp refuses it.

    `n_batch` is the most tokens one decode call takes; llama.cpp sizes its compute buffers by it.
    """
    from llama_cpp import Llama  # heavy import, deferred

    try:
        with _quiet_stderr():
            return Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=default_threads(n_threads),
                n_threads_batch=default_threads(n_threads),
                seed=seed,
                logits_all=logits_all,
                n_batch=n_batch,
                verbose=False,
            )
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"llama.cpp could not load {path}: {exc}; is it a complete GGUF file?") from None


def load_vocab(path: Path, n_ctx: int = 512):
    """Only the vocabulary and metadata of a GGUF file (tokenize, detokenize, chat template; no weights)."""
    from llama_cpp import Llama

    try:
        with _quiet_stderr():
            return Llama(model_path=str(path), n_ctx=n_ctx, vocab_only=True, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"llama.cpp could not read the vocabulary of {path}: {exc}; is it a complete GGUF file?") from None


def token_text(llm, token_id: int) -> str:
    """The vocabulary entry of `token_id` as text (special tokens included)."""
    return llm._model.token_get_text(token_id)


def eog_ids(llm) -> frozenset[int]:
    """Token ids that end a generation (end of turn, end of text, ...), computed once per model."""
    cached = getattr(llm, "_tandem_eog_ids", None)
    if cached is None:
        import llama_cpp

        vocab = llm._model.vocab
        cached = frozenset(i for i in range(llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab, i))
        llm._tandem_eog_ids = cached
    return cached


def vocab_fingerprint(llm) -> str:
    """sha256 over the token strings in id order: equal fingerprints mean a shared vocabulary."""
    digest = hashlib.sha256()
    for token_id in range(llm.n_vocab()):
        digest.update(token_text(llm, token_id).encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


class ChatTemplate:
    """The chat template stored in a GGUF file, rendered with llama-cpp-python's Jinja formatter."""

    def __init__(self, llm) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(
                "the model has no chat template (tokenizer.chat_template); use an instruct model"
            )
        eos = token_text(llm, llm.token_eos())
        bos = token_text(llm, llm.token_bos()) if llm.token_bos() >= 0 else ""
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        self.eos_text = eos

    def render(self, messages: Sequence[ChatMessage]) -> str:
        """The prompt text that asks the model for the next assistant turn."""
        result = self._formatter(messages=[{"role": m.role, "content": m.content} for m in messages])
        return result.prompt

    @property
    def stop(self) -> list[str]:
        """Stop strings for generation: the model's end-of-sequence text."""
        return [self.eos_text]

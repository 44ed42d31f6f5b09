"""The small model on the device, which is the only model that sees private context."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from runtime.decode import DecodeResult, decode_stream
from runtime.errors import UserError
from runtime.llm import ChatMessage, ChatTemplate, load_llama, vocab_fingerprint


class PromptTooLong(UserError, ValueError):
    """The prompt (instruction + context) does not fit the edge model's context window."""


# Tokens per decode call. Measured on Qwen2.5-0.5B reading a 1000-token prompt on one thread:
# 128 reads as fast as 512 (28 vs 27 tok/s) with 38 MB less resident memory (compute buffers),
# which the daemon spends on saved KV states instead. Fused decoding's calls are at most 64.
EDGE_BATCH = 128


class EdgeModel:
    """A chat model loaded once and used for many answers (not thread-safe: one answer at a time)."""

    def __init__(self, path: Path, n_ctx: int = 4096, n_threads: int = 0) -> None:
        self.path = path
        self.llm = load_llama(path, n_ctx=n_ctx, n_threads=n_threads, n_batch=EDGE_BATCH)
        self.template = ChatTemplate(self.llm)
        self._fingerprint: str | None = None
        self._next_turn: list[int] | None = None

    @property
    def vocab_fingerprint(self) -> str:
        """sha256 over the vocabulary (computed once); equal to the cloud's for logit fusion."""
        if self._fingerprint is None:
            self._fingerprint = vocab_fingerprint(self.llm)
        return self._fingerprint

    def detokenize(self, tokens: list[int]) -> str:
        return self.llm.detokenize(tokens).decode("utf-8", errors="replace")

    @property
    def n_ctx(self) -> int:
        return self.llm.n_ctx()

    def chat_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        prompt = self.template.render(messages)
        return self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    @property
    def next_turn_tokens(self) -> list[int]:
        """What the chat template puts between an answer and the next user message (Qwen and SmolLM2:
        `<|im_end|>\n<|im_start|>user\n`), as token ids; empty if the template does not say."""
        if self._next_turn is None:
            answer, follow_up = "ANSWERMARK7", "NEXTMARK7"  # plain text no template rewrites
            text = self.template.render([ChatMessage("system", "S"), ChatMessage("user", "U"),
                                         ChatMessage("assistant", answer), ChatMessage("user", follow_up)])
            start, end = text.find(answer), text.find(follow_up)
            between = text[start + len(answer):end] if 0 <= start < end else ""
            self._next_turn = self.llm.tokenize(between.encode("utf-8"), add_bos=False, special=True) if between else []
        return self._next_turn

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes as plain text (no special tokens)."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def prompt_tokens(self, messages: Sequence[ChatMessage], assistant_prefix: str = "") -> list[int]:
        """The prompt asking for the assistant's reply (continuing `assistant_prefix`), checked to fit."""
        tokens = self.chat_tokens(messages)
        if assistant_prefix:
            tokens += self.llm.tokenize(assistant_prefix.encode("utf-8"), add_bos=False, special=False)
        if len(tokens) + 1 > self.n_ctx:
            raise PromptTooLong(
                f"the prompt is {len(tokens)} tokens but the edge model holds {self.n_ctx}: "
                "pass less context or raise edge.n_ctx"
            )
        return tokens

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int = 0,
        should_stop: Callable[[], bool] = lambda: False,
        result: DecodeResult | None = None,
        assistant_prefix: str = "",
    ) -> Iterator[str]:
        """Stream the assistant's reply to `messages` as text pieces.

        `assistant_prefix` is text the reply already starts with (e.g. written by the
        cloud before it was lost); the model continues it.
        """
        tokens = self.prompt_tokens(messages, assistant_prefix)
        yield from self.stream_tokens(tokens, max_tokens, temperature, seed, should_stop, result)

    def stream_tokens(
        self,
        tokens: list[int],
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int = 0,
        should_stop: Callable[[], bool] = lambda: False,
        result: DecodeResult | None = None,
    ) -> Iterator[str]:
        """Stream the text generated after the prompt `tokens` (a prefix already in the context is reused)."""
        for piece in decode_stream(
            self.llm, tokens, max_tokens, temperature, seed, self.template.stop, should_stop, result
        ):
            if piece.text:
                yield piece.text

    def close(self) -> None:
        self.llm.close()

"""An OpenAI-compatible HTTP upstream (vLLM, llama.cpp server, TGI) behind the gRPC service.

Generate and Sketch stream from `/chat/completions` (raw prompts: `/completions`).
Fuse needs token ids, so this backend loads the vocabulary of the same model
(a GGUF opened with `vocab_only`, a few MB of memory): it renders the chat
prompt, counts tokens, and maps the upstream's top log-probabilities back to ids
(`openai_scoring.py`). The HTTP client and its error statuses are in `upstream.py`.

The upstream keeps no session state: every Fuse step sends the session's whole
prefix as token ids, and the upstream's prefix cache makes that cheap. The
edge-to-cloud wire stays incremental.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import grpc

from cloud_service.backends.base import Append, Backend, BackendError, ModelInfo, Prompt
from cloud_service.backends.openai_scoring import UpstreamScorer
from cloud_service.backends.prompts import PromptTokenizer
from cloud_service.backends.upstream import UpstreamClient, UpstreamSettings
from cloud_service.sessions import Distribution, FuseSession, check_fits, plan_step
from runtime.decode import FINISH_LENGTH, FINISH_STOP, DecodeResult, Piece
from runtime.llm import eog_ids, load_vocab, vocab_fingerprint

log = logging.getLogger(__name__)


class OpenAIBackend(Backend):
    """Forwards to an OpenAI-compatible server; Fuse when a vocabulary is configured."""

    name = "openai"

    def __init__(self, settings: UpstreamSettings, vocab_path: Path | None, n_ctx: int, max_sessions: int = 8) -> None:
        super().__init__(max_sessions)
        self.settings = settings
        self.vocab_path = vocab_path
        self.n_ctx = n_ctx
        self.capabilities = ("generate", "sketch") + (("fuse",) if vocab_path else ())
        self.client = UpstreamClient(settings)
        self._prompts: PromptTokenizer | None = None
        self._scorer: UpstreamScorer | None = None

    @property
    def description(self) -> str:
        """The upstream's URL and the vocabulary file, for the log."""
        return f"upstream {self.settings.url}" + (f" (vocabulary of {self.vocab_path.name})" if self.vocab_path else "")

    # -- lifecycle ----------------------------------------------------------------------

    def load(self) -> ModelInfo:
        """Load the vocabulary (if any) and ask the upstream for its model; an unreachable upstream is not fatal."""
        fingerprint, n_vocab = "", 0
        if self.vocab_path is not None:
            vocab = load_vocab(self.vocab_path, n_ctx=self.n_ctx)
            self._prompts = PromptTokenizer(vocab)
            fingerprint, n_vocab = vocab_fingerprint(vocab), vocab.n_vocab()
            self._scorer = UpstreamScorer(self.client, self._prompts, self.settings.scoring, sorted(eog_ids(vocab)))
        try:
            self.client.discover_model()
        except BackendError as exc:
            log.warning("%s; calls will fail until it is up", exc)
        self.info = ModelInfo(self.client.model or "(upstream unreachable)", fingerprint, n_vocab, self.n_ctx)
        return self.info

    def close(self) -> None:
        """Forget the model (the HTTP connections close in `aclose`)."""
        self.info = None

    async def aclose(self) -> None:
        """Close the upstream's connections, then forget the model."""
        await self.client.aclose()
        self.close()

    # -- Generate / Sketch --------------------------------------------------------------

    def count_tokens(self, prompt: Prompt) -> int | None:
        """Tokens of the rendered prompt, when a vocabulary is loaded."""
        return len(self._prompts.tokens(prompt)) if self._prompts is not None else None

    async def stream(
        self, prompt: Prompt, max_tokens: int, temperature: float, seed: int,
        stop: Sequence[str], result: DecodeResult,
    ) -> AsyncIterator[Piece]:
        """Stream from the upstream; raw prompts go to /completions, chat prompts to /chat/completions."""
        body: dict[str, Any] = {"model": await self.client.model_name(), "max_tokens": max_tokens,
                                "temperature": temperature, "seed": seed, "stream": True}
        if stop:
            body["stop"] = list(stop)
        if prompt.raw:
            path, body["prompt"] = "/completions", prompt.text
        else:
            messages = [{"role": role, "content": content} for role, content in prompt.chat()]
            path, body["messages"] = "/chat/completions", messages
        self.stats.streams_started += 1
        text_parts: list[str] = []
        chunks = 0
        usage: dict[str, Any] = {}
        finished = False
        try:
            async for event in self.client.events(path, body):
                usage = event.get("usage") or usage
                for choice in event.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content") or choice.get("text") or ""
                    if text:
                        chunks += 1
                        text_parts.append(text)
                        yield Piece(text)
                    if choice.get("finish_reason"):
                        result.finish = FINISH_LENGTH if choice["finish_reason"] == "length" else FINISH_STOP
            if not result.finish:
                # e.g. llama-cpp-python's server answers 200 and then sends nothing when it rejects a request
                raise BackendError(grpc.StatusCode.UNAVAILABLE,
                                   f"the upstream at {self.settings.url} ended the stream without finishing it "
                                   "(it may have rejected the request, e.g. a prompt longer than its context; "
                                   "see its log)")
            finished = True
        finally:
            if not finished:
                self.stats.streams_cancelled += 1
        result.prompt_tokens = usage.get("prompt_tokens") or self.count_tokens(prompt) or 0
        result.completion_tokens = usage.get("completion_tokens") or self._count_text("".join(text_parts)) or chunks
        self.stats.tokens_generated += result.completion_tokens

    def _count_text(self, text: str) -> int:
        return len(self._prompts.text_tokens(text)) if self._prompts is not None and text else 0

    # -- Fuse -----------------------------------------------------------------------------

    async def fuse_open(self, session: FuseSession, prompt: Prompt) -> list[Distribution]:
        """Score the rendered prompt: the distribution of the first answer token."""
        assert self._prompts is not None and self._scorer is not None
        tokens = self._prompts.tokens(prompt)
        check_fits(len(tokens), self.n_ctx)
        rows = await self._scorer.score(tokens, [], session.top_k)
        session.tokens, session.drafts, session.rows = tokens, [], rows
        return rows

    async def fuse_step(
        self, session: FuseSession, keep: int, appends: Sequence[Append], drafts: Sequence[int]
    ) -> list[Distribution]:
        """Keep `keep` drafts, commit the appends, score the new drafts over the whole prefix."""
        assert self._prompts is not None and self._scorer is not None and self.info is not None
        committed = plan_step(session, keep, self._prompts.append_ids(appends), drafts,
                              self.info.n_vocab, self.n_ctx)
        appended = len(committed) > len(session.tokens) + keep
        if not appended and not drafts:
            rows = [session.rows[keep]]
        else:
            rows = await self._scorer.score(committed, list(drafts), session.top_k)
            if not appended:
                rows[0] = session.rows[keep]  # the edge already fused with this one
        session.tokens, session.drafts, session.rows = committed, list(drafts), rows
        return rows

"""Fuse scoring through an OpenAI-compatible upstream: top log-probabilities mapped back to token ids.

Two modes (`server.upstream_scoring`):
- `echo`: one /completions call over the whole token-id prompt with `echo` + `logprobs`
  (the prompt's own log-probabilities, as vLLM returns them);
- `single`: one call per position with the prompt as text, for servers that take only
  text prompts or cannot echo (llama-cpp-python's server).
"""

from __future__ import annotations

import re
from typing import Any

import grpc

from cloud_service.backends.base import BackendError
from cloud_service.backends.prompts import PromptTokenizer
from cloud_service.backends.upstream import UpstreamClient
from cloud_service.sessions import Distribution

_TOKEN_ID_KEY = re.compile(r"^token_id:(\d+)$")  # vLLM's return_tokens_as_token_ids format


class UpstreamScorer:
    """The distributions after a prefix and after each draft token, from the upstream's log-probabilities."""

    def __init__(self, client: UpstreamClient, prompts: PromptTokenizer, mode: str, end_ids: list[int]) -> None:
        self.client = client
        self.prompts = prompts
        self.mode = mode
        self.end_ids = end_ids
        self.ids_by_text = ids_by_text(prompts.llm)

    async def score(self, prefix: list[int], drafts: list[int], top_k: int) -> list[Distribution]:
        """The distributions after `prefix` and after each draft token: len(drafts) + 1 rows."""
        if self.mode == "echo":
            tokens = prefix + drafts
            choice = await self._completion_logprobs(tokens, top_k, echo=True)
            positions = choice["top_logprobs"]
            if len(positions) != len(tokens) + 1:
                raise BackendError(grpc.StatusCode.UNAVAILABLE,
                                   f"the upstream echoed {len(positions)} positions for {len(tokens)} prompt tokens; "
                                   'it may not support echo with logprobs: set server.upstream_scoring = "single"')
            wanted = positions[len(prefix):]
        else:
            wanted = []
            for n in range(len(drafts) + 1):
                choice = await self._completion_logprobs(self.prompts.detokenize(prefix + drafts[:n]), top_k,
                                                         echo=False)
                wanted.append(choice["top_logprobs"][0])
        return [self.distribution(entry, top_k) for entry in wanted]

    async def _completion_logprobs(self, prompt: list[int] | str, top_k: int, echo: bool) -> dict[str, Any]:
        """One /completions call of one token with the top-k log-probabilities (of the prompt too if `echo`).

        echo sends token ids and asks for ids back (vLLM's `return_tokens_as_token_ids`);
        a server that accepts only text prompts answers 4xx, and the message says what to set.
        """
        body: dict[str, Any] = {"model": await self.client.model_name(), "prompt": prompt, "max_tokens": 1,
                                "temperature": 0.0, "logprobs": top_k, "echo": echo}
        if echo:
            body["return_tokens_as_token_ids"] = True
        else:
            # A server that samples an end-of-turn token returns no token and so no log-probabilities
            # (llama-cpp-python's does); forbid sampling it. The log-probabilities are the model's own.
            body["logit_bias"] = {str(token): -100 for token in self.end_ids}
        try:
            response = await self.client.send("POST", "/completions", json=body)
        except BackendError as exc:
            if echo and "answered HTTP" in str(exc):  # llama-cpp-python's server even answers 500 here
                raise BackendError(grpc.StatusCode.FAILED_PRECONDITION,
                                   f"{exc}; the upstream may not take token-id prompts with echo: "
                                   'set server.upstream_scoring = "single"') from None
            raise
        try:
            logprobs = response.json()["choices"][0]["logprobs"]
            if not logprobs or not logprobs.get("top_logprobs"):
                raise KeyError("top_logprobs")
            return logprobs
        except (KeyError, IndexError, TypeError, ValueError):
            raise BackendError(grpc.StatusCode.UNAVAILABLE,
                               f"the upstream at {self.client.url} returned no log-probabilities; Fuse needs "
                               "`logprobs` on /completions (llama.cpp server: --logits_all true; vLLM: --max-logprobs 20)"
                               ) from None

    def distribution(self, entry: dict[str, float] | None, top_k: int) -> Distribution:
        """Upstream {token text: logprob} to ids, best first (texts the vocabulary does not know are dropped)."""
        pairs: dict[int, float] = {}
        for key, logprob in (entry or {}).items():
            match = _TOKEN_ID_KEY.match(key)
            token = int(match.group(1)) if match else self.ids_by_text.get(key)
            if token is not None and token not in pairs:
                pairs[token] = float(logprob)
        ranked = sorted(pairs.items(), key=lambda item: -item[1])[:top_k]
        if not ranked:
            raise BackendError(grpc.StatusCode.UNAVAILABLE, "the upstream's top log-probabilities named no known token")
        return Distribution([t for t, _ in ranked], [lp for _, lp in ranked])


def ids_by_text(vocab) -> dict[str, int]:
    """Token text as OpenAI servers print it (UTF-8, undecodable bytes dropped) -> the first id with that text.

    Control tokens print as "": that key is taken to be the end of the turn (the model's EOS),
    by far the likeliest control token in an answer.
    """
    table: dict[str, int] = {"": vocab.token_eos()}
    for token in range(vocab.n_vocab()):
        text = vocab.detokenize([token]).decode("utf-8", errors="ignore")
        table.setdefault(text, token)
    return table

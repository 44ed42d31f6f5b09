"""An OpenAI-compatible HTTP upstream (vLLM, llama.cpp server, TGI) behind the gRPC service.

Generate and Sketch stream from `/chat/completions` (raw prompts: `/completions`).
Fuse needs token ids, so this backend loads the vocabulary of the same model
(a GGUF opened with `vocab_only`, a few MB of memory): it renders the chat
prompt, counts tokens, and maps the upstream's top log-probabilities back to ids.
Drafts are scored in one call with `echo` + `logprobs` over a token-id prompt (the
prompt's own log-probabilities, as vLLM returns them), or, for servers that take
only text prompts or cannot echo (llama-cpp-python's server), one call per position
with the prompt as text.

The upstream keeps no session state: every Fuse step sends the session's whole
prefix as token ids, and the upstream's prefix cache makes that cheap. The
edge-to-cloud wire stays incremental.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx

from cloud_service.backends.base import Append, Backend, BackendError, ModelInfo, Prompt
from cloud_service.backends.llama import PromptTokenizer
from cloud_service.fusion import Distribution, FuseSession, check_fits, plan_step
from runtime.decode import FINISH_LENGTH, FINISH_STOP, DecodeResult, Piece
from runtime.llm import eog_ids, load_vocab, vocab_fingerprint
from runtime.secret_files import read_tokens

log = logging.getLogger(__name__)

_TOKEN_ID_KEY = re.compile(r"^token_id:(\d+)$")  # vLLM's return_tokens_as_token_ids format


@dataclass(frozen=True)
class UpstreamSettings:
    url: str  # base URL ending in /v1
    model: str = ""  # "" = the first model the upstream lists
    api_key: str = ""
    timeout_s: float = 120.0
    scoring: str = "single"  # single | echo

    @classmethod
    def from_config(cls, config) -> UpstreamSettings:
        """From a ServerConfig; an unreadable key file is an error naming the key."""
        key_file = config.upstream_api_key_file
        api_key = read_tokens(key_file, "server.upstream_api_key_file")[0] if key_file else ""
        return cls(config.upstream_url.rstrip("/"), config.upstream_model, api_key,
                   config.upstream_timeout_s, config.upstream_scoring)

    @property
    def headers(self) -> dict[str, str]:
        """The upstream's Authorization header, if it has an API key."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


class OpenAIBackend(Backend):
    """Forwards to an OpenAI-compatible server; Fuse when a vocabulary is configured."""

    name = "openai"

    def __init__(self, settings: UpstreamSettings, vocab_path: Path | None, n_ctx: int, max_sessions: int = 8) -> None:
        super().__init__(max_sessions)
        self.settings = settings
        self.vocab_path = vocab_path
        self.n_ctx = n_ctx
        self.capabilities = ("generate", "sketch") + (("fuse",) if vocab_path else ())
        self._prompts: PromptTokenizer | None = None
        self._ids_by_text: dict[str, int] = {}
        self._end_ids: list[int] = []
        self._model = settings.model
        self._client: httpx.AsyncClient | None = None

    @property
    def description(self) -> str:
        return f"upstream {self.settings.url}" + (f" (vocabulary of {self.vocab_path.name})" if self.vocab_path else "")

    # -- lifecycle ----------------------------------------------------------------------

    def load(self) -> ModelInfo:
        """Load the vocabulary (if any) and ask the upstream for its model; an unreachable upstream is not fatal."""
        fingerprint, n_vocab = "", 0
        if self.vocab_path is not None:
            vocab = load_vocab(self.vocab_path, n_ctx=self.n_ctx)
            self._prompts = PromptTokenizer(vocab)
            fingerprint, n_vocab = vocab_fingerprint(vocab), vocab.n_vocab()
            self._ids_by_text = _ids_by_text(vocab)
            self._end_ids = sorted(eog_ids(vocab))
        if not self._model:
            try:
                self._model = _first_model(self.settings)
            except BackendError as exc:
                log.warning("%s; calls will fail until it is up", exc)
        self.info = ModelInfo(self._model or "(upstream unreachable)", fingerprint, n_vocab, self.n_ctx)
        return self.info

    def close(self) -> None:
        self.info = None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self.close()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:  # created lazily: it belongs to the serving event loop
            self._client = httpx.AsyncClient(base_url=self.settings.url, headers=self.settings.headers,
                                             timeout=httpx.Timeout(self.settings.timeout_s, connect=5.0))
        return self._client

    async def _model_name(self) -> str:
        if not self._model:
            response = await self._send("GET", "/models")
            self._model = _model_from_listing(response.json(), self.settings.url)
        return self._model

    # -- Generate / Sketch --------------------------------------------------------------

    def count_tokens(self, prompt: Prompt) -> int | None:
        return len(self._prompts.tokens(prompt)) if self._prompts is not None else None

    async def stream(
        self, prompt: Prompt, max_tokens: int, temperature: float, seed: int,
        stop: Sequence[str], result: DecodeResult,
    ) -> AsyncIterator[Piece]:
        """Stream from the upstream; raw prompts go to /completions, chat prompts to /chat/completions."""
        body: dict[str, Any] = {"model": await self._model_name(), "max_tokens": max_tokens,
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
            async with _errors(self.settings.url):
                async with self._http().stream("POST", path, json=body) as response:
                    await _check(response, self.settings.url)
                    async for event in _sse_events(response):
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
        assert self._prompts is not None and self.info is not None
        tokens = self._prompts.tokens(prompt)
        check_fits(len(tokens), self.n_ctx)
        rows = await self._score(tokens, [], session.top_k)
        session.tokens, session.drafts, session.rows = tokens, [], rows
        return rows

    async def fuse_step(
        self, session: FuseSession, keep: int, appends: Sequence[Append], drafts: Sequence[int]
    ) -> list[Distribution]:
        assert self._prompts is not None and self.info is not None
        committed = plan_step(session, keep, self._prompts.append_ids(appends), drafts,
                              self.info.n_vocab, self.n_ctx)
        appended = len(committed) > len(session.tokens) + keep
        if not appended and not drafts:
            rows = [session.rows[keep]]
        else:
            rows = await self._score(committed, list(drafts), session.top_k)
            if not appended:
                rows[0] = session.rows[keep]  # the edge already fused with this one
        session.tokens, session.drafts, session.rows = committed, list(drafts), rows
        return rows

    async def _score(self, prefix: list[int], drafts: list[int], top_k: int) -> list[Distribution]:
        """The distributions after `prefix` and after each draft token: len(drafts) + 1 rows."""
        if self.settings.scoring == "echo":
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
                choice = await self._completion_logprobs(self._text(prefix + drafts[:n]), top_k, echo=False)
                wanted.append(choice["top_logprobs"][0])
        return [self._distribution(entry, top_k) for entry in wanted]

    def _text(self, tokens: list[int]) -> str:
        """Token ids as prompt text (special tokens spelled out: servers parse them back)."""
        assert self._prompts is not None
        return self._prompts.llm.detokenize(tokens, special=True).decode("utf-8", errors="replace")

    async def _completion_logprobs(self, prompt: list[int] | str, top_k: int, echo: bool) -> dict[str, Any]:
        """One /completions call of one token with the top-k log-probabilities (of the prompt too if `echo`).

        echo sends token ids and asks for ids back (vLLM's `return_tokens_as_token_ids`);
        a server that accepts only text prompts answers 4xx, and the message says what to set.
        """
        body: dict[str, Any] = {"model": await self._model_name(), "prompt": prompt, "max_tokens": 1,
                                "temperature": 0.0, "logprobs": top_k, "echo": echo}
        if echo:
            body["return_tokens_as_token_ids"] = True
        else:
            # A server that samples an end-of-turn token returns no token and so no log-probabilities
            # (llama-cpp-python's does); forbid sampling it. The log-probabilities are the model's own.
            body["logit_bias"] = {str(token): -100 for token in self._end_ids}
        try:
            response = await self._send("POST", "/completions", json=body)
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
                               f"the upstream at {self.settings.url} returned no log-probabilities; Fuse needs "
                               "`logprobs` on /completions (llama.cpp server: --logits_all true; vLLM: --max-logprobs 20)"
                               ) from None

    def _distribution(self, entry: dict[str, float] | None, top_k: int) -> Distribution:
        """Upstream {token text: logprob} to ids, best first (texts the vocabulary does not know are dropped)."""
        pairs: dict[int, float] = {}
        for key, logprob in (entry or {}).items():
            match = _TOKEN_ID_KEY.match(key)
            token = int(match.group(1)) if match else self._ids_by_text.get(key)
            if token is not None and token not in pairs:
                pairs[token] = float(logprob)
        ranked = sorted(pairs.items(), key=lambda item: -item[1])[:top_k]
        if not ranked:
            raise BackendError(grpc.StatusCode.UNAVAILABLE, "the upstream's top log-probabilities named no known token")
        return Distribution([t for t, _ in ranked], [lp for _, lp in ranked])

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with _errors(self.settings.url):
            response = await self._http().request(method, path, **kwargs)
            await _check(response, self.settings.url)
            return response


# -- HTTP helpers ---------------------------------------------------------------------------


class _errors:
    """httpx failures -> BackendError with the gRPC status that fits."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind, exc, tb) -> bool:
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
            raise BackendError(grpc.StatusCode.DEADLINE_EXCEEDED,
                               f"the upstream at {self.url} did not answer in time ({type(exc).__name__})") from None
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            raise BackendError(grpc.StatusCode.UNAVAILABLE, f"the upstream at {self.url} is unreachable: {exc}") from None
        if isinstance(exc, httpx.HTTPError):
            raise BackendError(grpc.StatusCode.UNAVAILABLE,
                               f"the connection to the upstream at {self.url} failed: {type(exc).__name__}: {exc}") from None
        return False


_STATUS_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.FAILED_PRECONDITION,  # the service's API key: an operator's problem
    403: grpc.StatusCode.FAILED_PRECONDITION,
    404: grpc.StatusCode.FAILED_PRECONDITION,  # unknown model or endpoint
    413: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
}


async def _check(response: httpx.Response, url: str) -> None:
    """A non-2xx upstream answer -> BackendError carrying the upstream's own message."""
    if response.is_success:
        return
    await response.aread()
    detail = _error_detail(response)
    code = _STATUS_CODES.get(response.status_code,
                             grpc.StatusCode.UNAVAILABLE if response.status_code >= 500 else grpc.StatusCode.FAILED_PRECONDITION)
    raise BackendError(code, f"the upstream at {url} answered HTTP {response.status_code}: {detail}")


def _error_detail(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(data, dict):
        error = data.get("error") if "error" in data else data.get("detail", data)
        if isinstance(error, dict):
            error = error.get("message", error)
        return str(error)[:300]
    return str(data)[:300]


async def _sse_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The JSON objects of a server-sent event stream, up to `[DONE]`."""
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            yield json.loads(data)
        except json.JSONDecodeError:
            raise BackendError(grpc.StatusCode.UNAVAILABLE, f"the upstream sent a malformed event: {data[:100]!r}") from None


def _first_model(settings: UpstreamSettings) -> str:
    """Blocking GET /models at start-up."""
    try:
        response = httpx.get(f"{settings.url}/models", headers=settings.headers, timeout=5.0)
    except httpx.HTTPError as exc:
        raise BackendError(grpc.StatusCode.UNAVAILABLE, f"the upstream at {settings.url} is unreachable: {exc}") from None
    if not response.is_success:
        raise BackendError(grpc.StatusCode.UNAVAILABLE,
                           f"the upstream at {settings.url} answered HTTP {response.status_code} to GET /models")
    return _model_from_listing(response.json(), settings.url)


def _model_from_listing(listing: Any, url: str) -> str:
    try:
        return listing["data"][0]["id"]
    except (KeyError, IndexError, TypeError):
        raise BackendError(grpc.StatusCode.FAILED_PRECONDITION,
                           f"the upstream at {url} lists no model; set server.upstream_model") from None


def _ids_by_text(vocab) -> dict[str, int]:
    """Token text as OpenAI servers print it (UTF-8, undecodable bytes dropped) -> the first id with that text.

    Control tokens print as "": that key is taken to be the end of the turn (the model's EOS),
    by far the likeliest control token in an answer.
    """
    table: dict[str, int] = {"": vocab.token_eos()}
    for token in range(vocab.n_vocab()):
        text = vocab.detokenize([token]).decode("utf-8", errors="ignore")
        table.setdefault(text, token)
    return table

"""The embedded llama.cpp backend: one GGUF model, one decoding thread.

llama.cpp contexts are not thread-safe, so every model call runs on a single
worker thread; requests queue for it. A job carries a stop flag so that a client
that goes away frees the model at the next token.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from cloud_service.backends.base import Append, Backend, ModelInfo, Prompt
from cloud_service.fusion import Distribution, FuseSession, FusionEngine
from runtime.decode import DecodeResult, Piece, decode_stream
from runtime.llm import ChatMessage, ChatTemplate, load_llama, vocab_fingerprint

T = TypeVar("T")


class PromptTokenizer:
    """Prompts to token ids with a model's own chat template (also works on a vocabulary-only load)."""

    def __init__(self, llm) -> None:
        self.llm = llm
        self.template = ChatTemplate(llm)
        self._last: tuple[Prompt, list[int]] | None = None  # the servicer counts a prompt, then runs it

    def tokens(self, prompt: Prompt) -> list[int]:
        """Rendered with the chat template unless raw."""
        if self._last is None or self._last[0] != prompt:
            self._last = (prompt, self._tokenize(prompt))
        return list(self._last[1])

    def _tokenize(self, prompt: Prompt) -> list[int]:
        if prompt.raw:
            return self.llm.tokenize(prompt.text.encode("utf-8"), add_bos=True, special=False)
        messages = [ChatMessage(role, content) for role, content in prompt.chat()]
        return self.llm.tokenize(self.template.render(messages).encode("utf-8"), add_bos=False, special=True)

    def text_tokens(self, text: str) -> list[int]:
        """Plain text (e.g. a placeholder) to token ids, no special tokens, no BOS."""
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def append_ids(self, appends: Sequence[Append]) -> list[list[int]]:
        return [list(a.ids) + (self.text_tokens(a.text) if a.text else []) for a in appends]


class LlamaBackend(Backend):
    """Hosts one GGUF model through llama-cpp-python."""

    name = "llama.cpp"
    capabilities = ("generate", "sketch", "fuse")

    def __init__(self, path: Path, n_ctx: int, n_threads: int = 0, max_sessions: int = 8) -> None:
        super().__init__(max_sessions)
        self.path = path
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._llm = None
        self._prompts: PromptTokenizer | None = None
        self.fusion: FusionEngine | None = None

    @property
    def description(self) -> str:
        return self.path.name

    def load(self) -> ModelInfo:
        """Blocking: open the model and compute its vocabulary fingerprint."""
        llm = load_llama(self.path, n_ctx=self._n_ctx, n_threads=self._n_threads)
        self._prompts = PromptTokenizer(llm)
        self.fusion = FusionEngine(llm)
        self._llm = llm
        self.info = ModelInfo(
            model_id=self.path.name,
            vocab_fingerprint=vocab_fingerprint(llm),
            n_vocab=llm.n_vocab(),
            n_ctx=llm.n_ctx(),
        )
        return self.info

    async def run(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the model thread (the only thread that touches the llama context)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def count_tokens(self, prompt: Prompt) -> int:
        assert self._prompts is not None
        return len(self._prompts.tokens(prompt))

    async def stream(
        self, prompt: Prompt, max_tokens: int, temperature: float, seed: int,
        stop: Sequence[str], result: DecodeResult,
    ) -> AsyncIterator[Piece]:
        """Decode on the model thread; yield pieces as they come. Cancelling the consumer stops decoding."""
        assert self._prompts is not None
        tokens = self._prompts.tokens(prompt)
        stop = list(stop) + ([] if prompt.raw else self._prompts.template.stop)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Piece | BaseException | None] = asyncio.Queue()
        stop_flag = threading.Event()

        def put(item: Piece | BaseException | None) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            try:
                if stop_flag.is_set():
                    return
                if self.fusion is not None:
                    self.fusion.evict()  # keep a fuse session's KV cache safe from this call
                for piece in decode_stream(
                    self._llm, tokens, max_tokens, temperature, seed, stop,
                    should_stop=stop_flag.is_set, result=result,
                ):
                    self.stats.tokens_generated += len(piece.token_ids)
                    put(piece)
            except BaseException as exc:  # reported to the awaiting RPC
                put(exc)
            finally:
                put(None)

        self.stats.streams_started += 1
        job = loop.run_in_executor(self._executor, work)
        finished = False
        try:
            while True:
                item = await queue.get()
                if item is None:
                    finished = True
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if not finished:
                stop_flag.set()
                self.stats.streams_cancelled += 1
            await asyncio.shield(job)

    # -- Fuse ---------------------------------------------------------------------------

    async def fuse_open(self, session: FuseSession, prompt: Prompt) -> list[Distribution]:
        assert self._prompts is not None and self.fusion is not None
        tokens = self._prompts.tokens(prompt)
        return await self.run(lambda: self.fusion.open(session, tokens))

    async def fuse_step(
        self, session: FuseSession, keep: int, appends: Sequence[Append], drafts: Sequence[int]
    ) -> list[Distribution]:
        assert self._prompts is not None and self.fusion is not None
        runs = self._prompts.append_ids(appends)
        return await self.run(lambda: self.fusion.step(session, keep, runs, list(drafts)))

    def close_session(self, session: FuseSession) -> None:
        super().close_session(session)
        if self.fusion is not None:
            self.fusion.forget(session)  # bookkeeping only: no llama call

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._llm is not None:
            self._llm.close()
            self._llm = None
            self.info = None

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
from cloud_service.backends.llama_fuse import FuseEngine
from cloud_service.backends.prompts import PromptTokenizer
from cloud_service.sessions import Distribution, FuseSession
from runtime.decode import DecodeResult, Piece, decode_stream
from runtime.llm import load_llama, vocab_fingerprint

T = TypeVar("T")


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
        self.engine: FuseEngine | None = None
        self._decoding: set[threading.Event] = set()  # the stop flags of the streams still decoding

    @property
    def description(self) -> str:
        """The model file's name, for the log."""
        return self.path.name

    def load(self) -> ModelInfo:
        """Blocking: open the model and compute its vocabulary fingerprint."""
        llm = load_llama(self.path, n_ctx=self._n_ctx, n_threads=self._n_threads)
        self._prompts = PromptTokenizer(llm)
        self.engine = FuseEngine(llm)
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
        """Tokens of the rendered prompt."""
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
        self._decoding.add(stop_flag)

        def put(item: Piece | BaseException | None) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            try:
                if stop_flag.is_set():
                    return
                if self.engine is not None:
                    self.engine.evict()  # keep a fuse session's KV cache safe from this call
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
            try:
                await asyncio.shield(job)
            finally:
                self._decoding.discard(stop_flag)

    # -- Fuse ---------------------------------------------------------------------------

    async def fuse_open(self, session: FuseSession, prompt: Prompt) -> list[Distribution]:
        """Evaluate the rendered prompt on the model thread: the first answer token's distribution."""
        assert self._prompts is not None and self.engine is not None
        tokens = self._prompts.tokens(prompt)
        return await self.run(lambda: self.engine.open(session, tokens))

    async def fuse_step(
        self, session: FuseSession, keep: int, appends: Sequence[Append], drafts: Sequence[int]
    ) -> list[Distribution]:
        """Keep `keep` drafts, commit the appends, score the new drafts (on the model thread)."""
        assert self._prompts is not None and self.engine is not None
        runs = self._prompts.append_ids(appends)
        return await self.run(lambda: self.engine.step(session, keep, runs, list(drafts)))

    def close_session(self, session: FuseSession) -> None:
        """Free the slot and drop the session's saved KV cache."""
        super().close_session(session)
        if self.engine is not None:
            self.engine.forget(session)  # bookkeeping only: no llama call

    def close(self) -> None:
        """Stop what is decoding, then the model thread, and free the model."""
        # A stream whose call was cancelled at shutdown may not have run its `finally` yet (it
        # needs the event loop, which this call blocks): stop its decoding here, or the
        # join below waits for every token it still had to generate.
        for flag in list(self._decoding):
            flag.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._llm is not None:
            self._llm.close()
            self._llm = None
            self.info = None

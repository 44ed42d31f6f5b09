"""The embedded llama.cpp backend: one GGUF model, one decoding thread.

llama.cpp contexts are not thread-safe, so every model call runs on a single
worker thread; requests queue for it. A job carries a stop flag so that a client
that goes away frees the model at the next token.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable, Sequence, TypeVar

from cloud_service.fusion import FusionEngine

from edge_agent.decode import DecodeResult, Piece, decode_stream
from edge_agent.llm import ChatMessage, ChatTemplate, load_llama, vocab_fingerprint

T = TypeVar("T")


@dataclass(frozen=True)
class ModelInfo:
    model_id: str
    vocab_fingerprint: str
    n_vocab: int
    n_ctx: int


@dataclass
class BackendStats:
    """Counters the tests and benchmarks read."""

    tokens_generated: int = 0
    streams_started: int = 0
    streams_cancelled: int = 0


class LlamaBackend:
    """Hosts one GGUF model through llama-cpp-python."""

    name = "llama.cpp"
    capabilities = ("generate", "sketch", "fuse")

    def __init__(self, path: Path, n_ctx: int, n_threads: int = 0, max_sessions: int = 8) -> None:
        self.path = path
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._llm = None
        self._template: ChatTemplate | None = None
        self.info: ModelInfo | None = None
        self.stats = BackendStats()
        self.max_sessions = max_sessions
        self.fusion: FusionEngine | None = None

    def load(self) -> ModelInfo:
        """Blocking: open the model and compute its vocabulary fingerprint."""
        llm = load_llama(self.path, n_ctx=self._n_ctx, n_threads=self._n_threads)
        self._template = ChatTemplate(llm)
        self.info = ModelInfo(
            model_id=self.path.name,
            vocab_fingerprint=vocab_fingerprint(llm),
            n_vocab=llm.n_vocab(),
            n_ctx=llm.n_ctx(),
        )
        self.fusion = FusionEngine(llm, self.max_sessions)
        self._llm = llm
        return self.info

    async def run(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the model thread (the only thread that touches the llama context)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def tokenize_text(self, text: str) -> list[int]:
        """Plain text (e.g. a placeholder) to token ids, no special tokens, no BOS."""
        assert self._llm is not None
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    @property
    def ready(self) -> bool:
        return self._llm is not None

    def prompt_tokens(self, prompt: str, raw: bool, system: str = "") -> list[int]:
        """Tokens of a prompt: rendered with the chat template unless `raw`."""
        assert self._llm is not None and self._template is not None
        if raw:
            return self._llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)
        messages = ([ChatMessage("system", system)] if system else []) + [ChatMessage("user", prompt)]
        text = self._template.render(messages)
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    @property
    def stop_strings(self) -> list[str]:
        return self._template.stop if self._template else []

    async def stream(
        self,
        tokens: Sequence[int],
        max_tokens: int,
        temperature: float,
        seed: int,
        stop: Sequence[str],
        result: DecodeResult,
    ) -> AsyncIterator[Piece]:
        """Decode on the model thread; yield pieces as they come. Cancelling the consumer stops decoding."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Piece | BaseException | None] = asyncio.Queue()
        stop_flag = threading.Event()
        put: Callable[[Piece | BaseException | None], None] = lambda item: loop.call_soon_threadsafe(
            queue.put_nowait, item
        )

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

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._llm is not None:
            self._llm.close()
            self._llm = None

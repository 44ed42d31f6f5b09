"""Run a blocking iterator (an answer being generated) in a thread and consume it from asyncio."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class ThreadedIterator:
    """`async for item in ThreadedIterator(it)`: `it` runs in its own thread; `join()` waits for it.

    The thread keeps running if the consumer stops early, until the iterator ends on its
    own (the caller cancels the answer so that happens at the next token).
    """

    def __init__(self, iterator: Iterator[T], name: str = "tandem-answer") -> None:
        self.iterator = iterator
        self.thread = threading.Thread(target=self._pump, name=name, daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue = asyncio.Queue()

    def _put(self, item: object, error: BaseException | None = None) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (item, error))
        except RuntimeError:  # the event loop has closed (the app quit): nobody is listening
            pass

    def _pump(self) -> None:
        try:
            for item in self.iterator:
                self._put(item)
        except BaseException as exc:  # handed to the consumer, which decides what to show
            self._put(_DONE, exc)
        else:
            self._put(_DONE)

    async def __aiter__(self) -> AsyncIterator[T]:
        self._loop = asyncio.get_running_loop()
        self.thread.start()
        while True:
            item, error = await self._queue.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the producer thread; True when it has ended."""
        if self.thread.ident is None:
            return True
        self.thread.join(timeout)
        return not self.thread.is_alive()

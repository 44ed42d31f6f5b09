"""Saved KV states of recent answers, so that a follow-up evaluates only its new tokens.

After each answer the edge model's context holds the prompt and the answer; `keep` copies that
state out (llama.cpp's per-sequence state: the KV cells and the token ids, about 12 KB per token
for Qwen2.5-0.5B). Before the next answer, `prepare` finds the saved state that shares the
longest prefix with the new prompt and copies it back when it beats what the context already
holds. A conversation's next prompt starts with the previous prompt and answer (see
`strategies.prompts`), so its saved state covers all but the new turn.

Bounded in bytes, least recently used out; a state whose tokens are a prefix of a newer one is
dropped when the newer one is kept (one entry per branch of a conversation).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from runtime import kv

MIN_GAIN = 4  # tokens: restoring copies the whole state (milliseconds), reading a token costs more


@dataclass
class CacheStats:
    """What the cache holds and how often it helped."""

    entries: int = 0
    bytes: int = 0
    restores: int = 0  # prompts started from a saved state
    saved: int = 0  # states kept


class PromptCache:
    """KV states of recent prompts + answers for one llama.cpp context (call under the model's lock)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[int, kv.SavedSequence] = OrderedDict()
        self._next_key = 0
        self._lock = threading.Lock()  # the stats may be read from another thread (daemon Status)
        self.stats = CacheStats()

    def prepare(self, llm, tokens: Sequence[int]) -> int:
        """Start the context from the saved state sharing the longest prefix with `tokens`, if it beats
        the context's own; return how many leading tokens need no evaluation."""
        tokens = list(tokens)
        limit = max(0, len(tokens) - 1)  # the last prompt token is always evaluated: its logits are needed
        current = min(kv.common_prefix(kv.committed(llm), tokens), limit)
        with self._lock:
            best_key, best = None, current
            for key, saved in self._entries.items():
                shared = min(kv.common_prefix(saved.tokens, tokens), limit)
                if shared > best:
                    best_key, best = key, shared
            if best_key is None or best < current + MIN_GAIN:
                return current
            saved = self._entries[best_key]
            self._entries.move_to_end(best_key)
            self.stats.restores += 1
        try:
            kv.restore(llm, saved)
        except RuntimeError:  # llama.cpp refused it: forget it, and the context (now empty) too
            with self._lock:
                self._entries.pop(best_key, None)
            llm.n_tokens = 0
            return 0
        kv.truncate(llm, best)  # never more than the shared prefix: what follows is re-evaluated
        return best

    def keep(self, llm) -> None:
        """Save the context's current state (the prompt and answer just written)."""
        if self.max_bytes <= 0 or llm.n_tokens == 0:
            return
        saved = kv.save(llm)
        if len(saved.data) > self.max_bytes:
            return
        with self._lock:
            for key in [k for k, old in self._entries.items() if _is_prefix(old.tokens, saved.tokens)]:
                del self._entries[key]
            self._entries[self._next_key] = saved
            self._next_key += 1
            while sum(len(e.data) for e in self._entries.values()) > self.max_bytes:
                self._entries.popitem(last=False)
            self.stats.saved += 1
            self.stats.entries = len(self._entries)
            self.stats.bytes = sum(len(e.data) for e in self._entries.values())

    def clear(self) -> None:
        """Forget every saved state."""
        with self._lock:
            self._entries.clear()
            self.stats.entries, self.stats.bytes = 0, 0


def _is_prefix(shorter: Sequence[int], longer: Sequence[int]) -> bool:
    return len(shorter) <= len(longer) and kv.common_prefix(shorter, longer) == len(shorter)

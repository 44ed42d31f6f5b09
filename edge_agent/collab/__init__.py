"""Collaboration pieces that lift fact recall: relevant notes lines, slot drafts, fact check and repair.

Every function takes what it needs explicitly: the edge model as a `Generate` callable
(messages, max_tokens -> greedy text), the cloud as a `CloudCall` (prompt, system,
max_tokens -> restored text; it must redact what it sends, as CloudClient.generate does),
an `Embedder`, the notes lines and the instruction. The cloud never receives notes here:
only the instruction and constant prompts, through the caller's `CloudCall`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from runtime.llm import ChatMessage

Generate = Callable[[Sequence[ChatMessage], int], str]
"""The edge model: chat messages and a token budget in, greedy text out."""

CloudCall = Callable[[str, str, int], str]
"""The cloud: (prompt, system, max_tokens) in, restored text out; redacts what it sends."""


def edge_generate(model) -> Generate:
    """A `Generate` over an EdgeModel (greedy, seed 0)."""

    def generate(messages: Sequence[ChatMessage], max_tokens: int) -> str:
        return "".join(model.stream_chat(messages, max_tokens=max_tokens, temperature=0.0, seed=0))

    return generate


def cloud_call(client) -> CloudCall:
    """A `CloudCall` over a CloudClient: its generate() redacts the prompt and system and restores the reply."""

    def call(prompt: str, system: str, max_tokens: int) -> str:
        return "".join(client.generate(prompt, system=system, max_tokens=max_tokens, temperature=0.0, seed=0))

    return call

"""Limits both sides of the wire agree on: checked by the edge's config and by the cloud's validation."""

from __future__ import annotations

MIN_TEMPERATURE = 0.0
MAX_TEMPERATURE = 2.0  # sampling temperature of any request (0 = greedy)

MAX_TOP_K = 100  # distribution entries the cloud returns per Fuse position
DEFAULT_TOP_K = 20  # what a Fuse open with top_k = 0 gets
MAX_DRAFT = 32  # draft tokens per Fuse step


def temperature_ok(value: float) -> bool:
    """True for a temperature either side accepts."""
    return MIN_TEMPERATURE <= value <= MAX_TEMPERATURE

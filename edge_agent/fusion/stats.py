"""What a fused answer cost: tokens, round trips, drafts accepted (reported under the answer)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FuseStats:
    """Decoding figures of one fused answer."""

    tokens: int = 0  # committed answer tokens
    round_trips: int = 0
    drafted: int = 0
    accepted: int = 0
    fused_positions: int = 0  # tokens chosen with the cloud's distribution
    edge_alone: int = 0  # tokens decoded without the cloud (private spans, fallback)
    cloud_lost: str = ""
    seconds: float = 0.0
    token_ids: list[int] = field(default_factory=list)

    @property
    def acceptance(self) -> float:
        return self.accepted / self.drafted if self.drafted else 0.0

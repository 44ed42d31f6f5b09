"""What a fused answer cost: tokens, round trips, drafts accepted (reported under the answer)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FuseStats:
    """Decoding figures of one fused answer."""

    tokens: int = 0  # committed answer tokens
    round_trips: int = 0  # Fuse steps answered (the open not included)
    waited: int = 0  # steps the decoder waited for (the others went up ahead, while it wrote on)
    drafted: int = 0
    accepted: int = 0
    fused_positions: int = 0  # (unused since the selective mode; kept so old reports still decode)
    asked: int = 0  # positions where the cloud's distribution decided (fused)
    confident: int = 0  # selective: tokens the edge committed without asking (sure of them)
    edge_alone: int = 0  # tokens decoded without the cloud (private spans, copies, fallback)
    cloud_lost: str = ""
    seconds: float = 0.0
    wait_s: float = 0.0  # waiting for the cloud's answers
    base_s: float = 0.0  # reading the base distribution (the delta rule), while the cloud scores
    token_ids: list[int] = field(default_factory=list)

    @property
    def acceptance(self) -> float:
        """Share of drafted tokens the fused rule accepted."""
        return self.accepted / self.drafted if self.drafted else 0.0

    @property
    def asked_share(self) -> float:
        """Share of the answer's tokens the cloud was asked about."""
        return self.asked / self.tokens if self.tokens else 0.0

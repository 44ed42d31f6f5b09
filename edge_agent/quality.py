"""Score and verify answers on the device: the Cappy-style scorer and the KALMV-style verifier.

The scorer is cheap (one ONNX pass, milliseconds) and runs on every answer when its
artifact is present. The verifier asks the edge model several questions (seconds per
answer on 2 cores), so it runs on every answer only with `quality.verify = true`, and
always inside the best-of strategy.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from runtime.models import ModelError

if TYPE_CHECKING:
    from edge_agent.local_model import EdgeModel
    from edge_agent.scoring.scorer import Scorer
    from edge_agent.verify.verifier import Verdict

log = logging.getLogger(__name__)


class Quality:
    """Lazily loaded scorer plus the verifier over the agent's edge model."""

    def __init__(self) -> None:
        self._scorer: Scorer | None = None
        self._scorer_error = ""
        self._lock = threading.Lock()

    def scorer(self) -> Scorer | None:
        """The scorer, or None (with the reason logged once) if its artifact is missing."""
        with self._lock:
            if self._scorer is None and not self._scorer_error:
                from edge_agent.scoring.scorer import Scorer

                try:
                    self._scorer = Scorer.load(threads=1)
                except ModelError as exc:
                    self._scorer_error = str(exc)
                    log.warning("answers are not scored: %s", exc)
            return self._scorer

    def score(self, instruction: str, notes: str, answers: list[str]) -> list[float] | None:
        """One score in [0, 1] per answer, or None when the scorer is unavailable or there are no answers."""
        scorer = self.scorer()
        if scorer is None or not answers:
            return None
        from edge_agent.scoring.scorer import format_query

        return scorer.score([(format_query(instruction, notes), answer) for answer in answers])

    @staticmethod
    def verify(model: EdgeModel, instruction: str, notes: str, answer: str) -> Verdict:
        """The edge model's verdict on `answer` (the verifier's default "questions" method; seconds on 2 cores)."""
        from edge_agent.verify.verifier import verify

        return verify(model, instruction, notes, answer)

"""What a fused answer sends up its cloud session, and what happens when the cloud is gone.

Released text is queued as appends (ids, or placeholder text from the span watcher) and goes
up with the next round's drafts. Before a step is sent, the ids of the step are checked with
the door's own function (`guard.leaks` over their text, as `FuseChannel` checks them): drafts
that would make the door refuse are not offered, and ids that would are sent as redacted text,
so a fused answer is never cut off by the door. If the cloud refuses anyway or is lost, the
uplink closes and the edge finishes the answer alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from edge_agent.cloud_client import CloudError, FuseChannel, PrivacyViolation
from edge_agent.fusion.spans import Release
from edge_agent.privacy import PrivacyGuard
from protos import tandem_pb2 as pb


class Uplink:
    """One answer's side of a Fuse session: queued appends, kept drafts, the pre-door check."""

    def __init__(self, channel: FuseChannel | None, guard: PrivacyGuard, detokenize: Callable[[list[int]], str]) -> None:
        self.channel = channel
        self.guard = guard
        self.detokenize = detokenize
        self.pending: list[pb.FuseAppend] = []
        self.keep = 0  # drafts of the last step that the next step keeps
        self.lost = ""  # why the cloud is gone, if it is
        self.round_trips = 0
        self.sent_tokens = 0  # ids and drafts sent (placeholder text not counted)

    @property
    def open(self) -> bool:
        return self.channel is not None

    def queue(self, releases: Sequence[Release]) -> None:
        """Append released text to what the next step sends."""
        for release in releases:
            if release.private:
                self.pending.append(pb.FuseAppend(text=release.redacted))
            elif self.pending and self.pending[-1].ids and not self.pending[-1].text:
                self.pending[-1].ids.extend(release.tokens)
            else:
                self.pending.append(pb.FuseAppend(ids=release.tokens))

    def step(self, drafts: Sequence[int]) -> list[pb.TopK] | None:
        """Send the queue and `drafts`; the cloud's rows (one more than the drafts it scored), or
        None when the cloud is gone. Drafts the door would refuse are dropped from the end first."""
        drafts = list(drafts)
        while drafts and self._refused(drafts):
            drafts.pop()
        if self._refused([]):
            self._as_text()
        try:
            rows = self.channel.step(self.keep, self.pending, drafts)
        except (CloudError, PrivacyViolation) as exc:
            self.lose(exc)
            return None
        self.sent_tokens += sum(len(a.ids) for a in self.pending) + len(drafts)
        self.pending = []
        self.round_trips += 1
        return rows

    def lose(self, exc: Exception) -> None:
        """The cloud refused or is gone: close the session; the edge goes on alone."""
        self.lost = str(exc)
        self.close()

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
        self.channel = None

    def _refused(self, drafts: list[int]) -> bool:
        ids = [t for a in self.pending for t in a.ids] + drafts
        return bool(ids) and bool(self.guard.leaks(self.detokenize(ids)))

    def _as_text(self) -> None:
        """Send the queued ids as redacted text instead (the door checks text span by span)."""
        for append in self.pending:
            if append.ids:
                text = self.guard.redact(self.detokenize(list(append.ids)), recognize=False).text
                append.Clear()
                append.text = text

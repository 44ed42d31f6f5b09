"""What a fused answer sends up its cloud session, and what happens when the cloud is gone.

Released text is queued as appends (ids, or placeholder text from the span watcher) and goes
up with the next round's drafts. Before a step is sent, the ids of the step are checked with
the door's own function (`guard.leaks` over their text, as `FuseChannel` checks them): drafts
that would make the door refuse are not offered, and ids that would are sent as redacted text,
so a fused answer is never cut off by the door. If the cloud refuses anyway or is lost, the
uplink closes and the edge finishes the answer alone.

Steps leave in order from a worker thread, so the decoder can work while the cloud scores
(the base distribution of the delta rule is read meanwhile). `ahead` (the selective mode):
once that many tokens are queued, they go up at once, without waiting for an answer; the cloud
reads them while the edge writes on, so the next round trip the decoder waits for has little
left to read.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from edge_agent.cloud_client import CloudError, FuseChannel, PrivacyViolation
from edge_agent.fusion.spans import Release
from edge_agent.privacy import PrivacyGuard
from protos import tandem_pb2 as pb

_CHARS_PER_TOKEN = 4  # placeholder text: a rough token count


class Uplink:
    """One answer's side of a Fuse session: queued appends, kept drafts, the pre-door check."""

    def __init__(self, channel: FuseChannel | None, guard: PrivacyGuard, detokenize: Callable[[list[int]], str],
                 ahead: int = 0) -> None:
        self.channel = channel
        self.guard = guard
        self.detokenize = detokenize
        self.ahead = ahead
        self.pending: list[pb.FuseAppend] = []
        self.keep = 0  # drafts of the last step that the next step keeps
        self.lost = ""  # why the cloud is gone, if it is
        self.round_trips = 0  # steps answered (sent ahead or not)
        self.waits = 0  # steps the decoder waited for (round trips on its critical path)
        self._jobs: queue.Queue[tuple[pb.FuseStep, Future] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._in_flight = 0  # steps submitted and not yet answered
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        return self.channel is not None and not self.lost

    def queue(self, releases: Sequence[Release]) -> None:
        """Append released text to what the next step sends."""
        for release in releases:
            if release.private:
                self.pending.append(pb.FuseAppend(text=release.redacted))
            elif self.pending and self.pending[-1].ids and not self.pending[-1].text:
                self.pending[-1].ids.extend(release.tokens)
            else:
                self.pending.append(pb.FuseAppend(ids=release.tokens))

    def queued_tokens(self) -> int:
        """About how many tokens the cloud would read for the queued appends."""
        return sum(len(a.ids) or max(1, len(a.text) // _CHARS_PER_TOKEN) for a in self.pending)

    def send_ahead(self) -> None:
        """Send the queue now, without waiting, once it holds `ahead` tokens and no step is on its way
        (so the cloud never falls more than one step behind; 0: never)."""
        if self.ahead and self.open and not self._in_flight and self.queued_tokens() >= self.ahead:
            self._submit([])

    def submit(self, drafts: Sequence[int]) -> Future:
        """Send the queue and `drafts` (from the worker when `ahead`); the future's result is the
        cloud's rows (one more than the drafts it scored) or None when the cloud is gone. Drafts the
        door would refuse are dropped from the end first."""
        done: Future = Future()
        if not self.open:
            done.set_result(None)
            return done
        self.waits += 1
        return self._submit(list(drafts))

    def step(self, drafts: Sequence[int]) -> list[pb.TopK] | None:
        """`submit`, and wait for the answer."""
        return self.submit(drafts).result()

    def close(self) -> None:
        """Wait for steps still on their way (so the cloud reads everything that was audited), then close."""
        if self._worker is not None:
            self._jobs.put(None)
            self._worker.join()
            self._worker = None
        if self.channel is not None:
            self.channel.close()
        self.channel = None

    # -- sending ------------------------------------------------------------------------

    def _submit(self, drafts: list[int]) -> Future:
        while drafts and self._refused(drafts):
            drafts.pop()
        if self._refused([]):
            self._as_text()
        request = pb.FuseStep(keep=self.keep, append=self.pending, draft_ids=drafts)
        self.pending, self.keep = [], 0
        done: Future = Future()
        if self._worker is None:
            self._worker = threading.Thread(target=self._serve, name="fuse-uplink", daemon=True)
            self._worker.start()
        with self._lock:
            self._in_flight += 1
        self._jobs.put((request, done))
        return done

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._run(*job)
            with self._lock:
                self._in_flight -= 1

    def _run(self, request: pb.FuseStep, done: Future) -> None:
        if self.lost or self.channel is None:
            done.set_result(None)
            return
        try:
            rows = self.channel.step(request.keep, list(request.append), list(request.draft_ids))
        except (CloudError, PrivacyViolation) as exc:
            self.lost = str(exc) or type(exc).__name__
            done.set_result(None)
            return
        self.round_trips += 1
        done.set_result(rows)

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

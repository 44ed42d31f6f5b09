"""The one door from the device to the cloud.

Every request the edge sends is built here: each string is redacted by the
request's PrivacyGuard, checked once more for leaks, serialized, written to the
audit log as the exact bytes, and only then sent. Nothing else in tandem opens a
channel to the cloud service.
"""

from __future__ import annotations

import queue
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import grpc
from google.protobuf import text_format

from edge_agent.cloud_channel import call_metadata, open_channel
from edge_agent.config import CloudConfig, ConfigError
from edge_agent.privacy import AuditLog, PlaceholderRestorer, PrivacyGuard
from protos import tandem_pb2 as pb
from runtime.errors import UserError

SERVICE = "/tandem.v1.CloudModel/"

History = Sequence[tuple[str, str]]  # earlier turns: (instruction, answer), oldest first

# Statuses after which the edge can still answer alone.
_FALLBACK_CODES = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.FAILED_PRECONDITION,
}


class CloudError(UserError, RuntimeError):
    """A cloud call failed. `fallback_ok` says whether answering on the edge alone makes sense."""

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.fallback_ok = code is None or code in _FALLBACK_CODES


class PrivacyViolation(UserError, RuntimeError):
    """A request would have carried a private span; it was not sent."""


@dataclass
class WireStats:
    """What crossed the boundary for one answer."""

    rpcs: list[str] = field(default_factory=list)
    bytes_up: int = 0
    bytes_down: int = 0

    def summary(self) -> str:
        """One line for the report: how many RPCs, which ones, bytes up and down (or that nothing was sent)."""
        if not self.rpcs:
            return "nothing was sent to the cloud"
        names = ", ".join(sorted(set(self.rpcs)))
        return f"{len(self.rpcs)} RPC(s) to the cloud ({names}): {self.bytes_up} bytes up, {self.bytes_down} bytes down"


class CloudClient:
    """A connection to the cloud service for one user request (one guard, one request id)."""

    def __init__(
        self,
        address: str,
        audit: AuditLog,
        guard: PrivacyGuard,
        timeout_s: float = 120.0,
        connect_timeout_s: float = 3.0,
        request_id: str | None = None,
        cloud: CloudConfig | None = None,
    ) -> None:
        self.address = address
        self.cloud = cloud or CloudConfig()  # TLS and token settings (its address is not used)
        self.audit = audit
        self.guard = guard
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.request_id = request_id or uuid.uuid4().hex[:12]
        self.stats = WireStats()
        self.last_completion_tokens: int | None = None  # from the last Generate's final chunk
        self._channel: grpc.Channel | None = None
        self._metadata: tuple[tuple[str, str], ...] = ()

    # -- connection -----------------------------------------------------------------

    def _connect(self) -> grpc.Channel:
        if self._channel is None:
            try:
                self._metadata = call_metadata(self.cloud)
                channel = open_channel(self.address, self.cloud)
            except ConfigError as exc:  # not a fallback case: every cloud call would fail the same way
                raise CloudError(str(exc), grpc.StatusCode.UNAUTHENTICATED) from None
            try:
                grpc.channel_ready_future(channel).result(timeout=self.connect_timeout_s)
            except grpc.FutureTimeoutError:
                channel.close()
                raise CloudError(
                    f"the cloud at {self.address} is unreachable (no connection within "
                    f"{self.connect_timeout_s:g}s)", grpc.StatusCode.UNAVAILABLE
                ) from None
            self._channel = channel
        return self._channel

    def close(self) -> None:
        """Close the channel if one is open; a later call connects again."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def __enter__(self) -> CloudClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending ----------------------------------------------------------------------

    def _outbound(self, rpc: str, message, allow_private: bool = False) -> bytes:
        """Last check, audit, and serialize: the bytes returned are exactly what is sent."""
        if not allow_private:
            found = [span for text in _strings(message) for span in self.guard.leaks(text)]
            if found:
                raise PrivacyViolation(f"refused to send {rpc}: it still contains {len(found)} private span(s)")
        payload = message.SerializeToString()
        self.audit.record(
            peer=self.address,
            rpc=SERVICE + rpc,
            payload=payload,
            summary=text_format.MessageToString(message, as_utf8=True).strip(),
            request_id=self.request_id,
        )
        self.stats.rpcs.append(rpc)
        self.stats.bytes_up += len(payload)
        return payload

    def _counting(self, parse: Callable[[bytes], object]) -> Callable[[bytes], object]:
        def deserialize(data: bytes):
            self.stats.bytes_down += len(data)
            return parse(data)

        return deserialize

    def _error(self, rpc: str, exc: grpc.RpcError) -> CloudError:
        code = exc.code() if hasattr(exc, "code") else None
        details = exc.details() if hasattr(exc, "details") else str(exc)
        return CloudError(f"cloud {rpc} failed ({code.name if code else 'error'}): {details}", code)

    # -- RPCs -----------------------------------------------------------------------

    def info(self) -> pb.InfoResponse:
        """The cloud model's identity and capabilities (nothing private is sent)."""
        channel = self._connect()  # unreachable: nothing is recorded as sent
        payload = self._outbound("Info", pb.InfoRequest())
        call = channel.unary_unary(
            SERVICE + "Info", request_serializer=None,
            response_deserializer=self._counting(pb.InfoResponse.FromString),
        )
        try:
            return call(payload, timeout=min(self.timeout_s, 30.0), metadata=self._metadata)
        except grpc.RpcError as exc:
            raise self._error("Info", exc) from None

    def generate(
        self,
        prompt: str,
        *,
        system: str = "",
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int = 0,
        raw: bool = False,
        context_optin: bool = False,
        history: History = (),
    ) -> Iterator[str]:
        """Stream a completion; the prompt (and each earlier turn) is redacted and the returned text restored.

        `system` is one of the product's constant instructions (text that depends on the
        request belongs in `prompt`): it is redacted without the recognizer, whose rare-word
        rule would take words like "placeholders" for names. `context_optin` (the
        cloud-with-context baseline only) sends the prompt, system text and history
        unredacted and marks the request as carrying context.
        """
        if context_optin:
            request = pb.GenerateRequest(prompt=prompt, system=system, contains_context=True,
                                         history=[pb.Turn(instruction=i, answer=a) for i, a in history])
        else:
            request = pb.GenerateRequest(
                prompt=self.guard.redact(prompt).text,
                system=self.guard.redact(system, recognize=False).text if system else "",
                history=self.turns(history),
            )
        request.max_tokens, request.temperature, request.seed, request.raw = max_tokens, temperature, seed, raw
        channel = self._connect()
        payload = self._outbound("Generate", request, allow_private=context_optin)
        call = channel.unary_stream(
            SERVICE + "Generate", request_serializer=None,
            response_deserializer=self._counting(pb.GenerateChunk.FromString),
        )
        stream = call(payload, timeout=self.timeout_s, metadata=self._metadata)
        restorer = PlaceholderRestorer(self.guard)
        try:
            for chunk in stream:
                if chunk.finish_reason:
                    self.last_completion_tokens = chunk.completion_tokens
                if chunk.text:
                    text = restorer.feed(chunk.text)
                    if text:
                        yield text
        except grpc.RpcError as exc:
            raise self._error("Generate", exc) from None
        finally:
            stream.cancel()  # no-op when finished; stops the cloud when the consumer leaves early
        tail = restorer.flush()
        if tail:
            yield tail

    def turns(self, history: History) -> list[pb.Turn]:
        """The earlier turns as they may go up: each instruction and answer redacted by this request's guard."""
        return [pb.Turn(instruction=self.guard.redact(instruction).text, answer=self.guard.redact(answer).text)
                for instruction, answer in history]

    def fuse(self, detokenize: Callable[[list[int]], str], max_tokens: int = 256) -> FuseChannel:
        """A Fuse session (opened by its first `open()` call).

        Its deadline covers the whole answer: cloud.timeout_s plus one second per token.
        """
        return FuseChannel(self, detokenize, self.timeout_s + max_tokens)

    def sketch(self, instruction: str, max_points: int = 15, max_tokens: int = 0, seed: int = 0,
               history: History = ()) -> list[str]:
        """The cloud's outline for the redacted instruction (after the redacted earlier turns), restored on the device."""
        request = pb.SketchRequest(
            instruction=self.guard.redact(instruction).text, max_points=max_points, max_tokens=max_tokens, seed=seed,
            history=self.turns(history),
        )
        channel = self._connect()
        payload = self._outbound("Sketch", request)
        call = channel.unary_unary(
            SERVICE + "Sketch", request_serializer=None,
            response_deserializer=self._counting(pb.SketchResponse.FromString),
        )
        try:
            response = call(payload, timeout=self.timeout_s, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise self._error("Sketch", exc) from None
        return [self.guard.restore(point) for point in response.points]


def _strings(message) -> list[str]:
    """Every string field of a request message, nested and repeated ones included."""
    texts: list[str] = []
    for descriptor, value in message.ListFields():
        items = list(value) if descriptor.is_repeated else [value]
        for item in items:
            if isinstance(item, str):
                texts.append(item)
            elif descriptor.message_type is not None:
                texts.extend(_strings(item))
    return texts


class FuseChannel:
    """One Fuse session: a bidirectional stream, driven one request/response at a time.

    Every request is redacted (its text parts), checked, audited and only then sent.
    `detokenize` turns ids back into text so that ids are checked for private spans too.
    """

    def __init__(self, client: CloudClient, detokenize: Callable[[list[int]], str], deadline_s: float) -> None:
        self.client = client
        self.detokenize = detokenize
        self.deadline_s = deadline_s  # for the whole session (a stream has one deadline)
        self._outbox: queue.Queue[bytes | None] = queue.Queue()
        self._responses = None
        self.round_trips = 0

    def _requests(self) -> Iterator[bytes]:
        while (item := self._outbox.get()) is not None:
            yield item

    def _send(self, request: pb.FuseRequest, ids: list[int]) -> list[pb.TopK]:
        if ids:
            found = self.client.guard.leaks(self.detokenize(ids))
            if found:
                raise PrivacyViolation(f"refused to send Fuse token ids: they spell {len(found)} private span(s)")
        channel = self.client._connect()
        payload = self.client._outbound("Fuse", request)
        if self._responses is None:
            call = channel.stream_stream(
                SERVICE + "Fuse", request_serializer=None,
                response_deserializer=self.client._counting(pb.FuseResponse.FromString),
            )
            self._responses = call(self._requests(), timeout=self.deadline_s, metadata=self.client._metadata)
        self._outbox.put(payload)
        self.round_trips += 1
        try:
            response = next(self._responses)
        except grpc.RpcError as exc:
            raise self.client._error("Fuse", exc) from None
        except StopIteration:
            raise CloudError("the cloud closed the Fuse session", grpc.StatusCode.UNAVAILABLE) from None
        return list(response.positions)

    def open(self, prompt: str, system: str, vocab_fingerprint: str, top_k: int, history: History = ()) -> pb.TopK:
        """Start the session on the redacted prompt (after the redacted earlier turns); the distribution
        of the first answer token."""
        opening = pb.FuseOpen(
            vocab_fingerprint=vocab_fingerprint, prompt=self.client.guard.redact(prompt).text,
            system=self.client.guard.redact(system, recognize=False).text if system else "", top_k=top_k,
            history=self.client.turns(history),
        )
        return self._send(pb.FuseRequest(open=opening), [])[0]

    def step(self, keep: int, appends: list[pb.FuseAppend], drafts: list[int]) -> list[pb.TopK]:
        """Keep drafts, append (ids or placeholder text), score new drafts: len(drafts)+1 rows."""
        ids = [t for a in appends for t in a.ids] + list(drafts)
        request = pb.FuseRequest(step=pb.FuseStep(keep=keep, append=appends, draft_ids=drafts))
        return self._send(request, ids)

    def close(self) -> None:
        """End the request stream and cancel the call; safe before `open()` and more than once."""
        self._outbox.put(None)
        if self._responses is not None:
            self._responses.cancel()

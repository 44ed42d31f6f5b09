"""Find canaries in what the cloud received: as text, or as the token ids of their text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from google.protobuf.message import DecodeError, Message

from cloud_service.capture import CapturedRequest
from protos import tandem_pb2 as pb

Tokenize = Callable[[str], list[int]]

REQUEST_TYPES: dict[str, type[Message]] = {
    "Info": pb.InfoRequest,
    "Generate": pb.GenerateRequest,
    "Sketch": pb.SketchRequest,
    "Fuse": pb.FuseRequest,
}
_SEPARATORS = re.compile(r"[\s\-().+/]")


@dataclass(frozen=True)
class Leak:
    canary: str
    method: str
    how: str  # "text", "digits" or "token ids"


def _flat(text: str) -> str:
    return _SEPARATORS.sub("", text.casefold())


def _int_sequences(message: Message) -> Iterable[list[int]]:
    """Every repeated integer field of a message, nested messages included."""
    for field, value in message.ListFields():
        if field.message_type is not None:
            items = value if field.is_repeated else [value]
            for item in items:
                yield from _int_sequences(item)
        elif field.is_repeated and field.cpp_type in (
            field.CPPTYPE_INT32, field.CPPTYPE_INT64, field.CPPTYPE_UINT32, field.CPPTYPE_UINT64
        ):
            yield list(value)


def _contains(haystack: Sequence[int], needle: Sequence[int]) -> bool:
    n = len(needle)
    return n > 0 and any(list(haystack[i:i + n]) == list(needle) for i in range(len(haystack) - n + 1))


def find_leaks(
    records: Sequence[CapturedRequest], canaries: Sequence[str], tokenize: Tokenize | None = None
) -> list[Leak]:
    """Every (canary, request) where the canary appears in the received bytes.

    Text: case-insensitive, and ignoring spaces and separators (so "+1 (415) 555-0134"
    is found as "4155550134"). Token ids: the canary's tokens (with and without a
    leading space) as a contiguous run in any repeated integer field.
    """
    leaks: list[Leak] = []
    token_runs = {c: [tokenize(c), tokenize(" " + c)] for c in canaries} if tokenize else {}
    for record in records:
        text = record.payload.decode("utf-8", errors="ignore")
        folded, flat = text.casefold(), _flat(text)
        sequences: list[list[int]] = []
        message_type = REQUEST_TYPES.get(record.method)
        if tokenize and message_type is not None:
            try:
                sequences = list(_int_sequences(message_type.FromString(record.payload)))
            except DecodeError:
                sequences = []
        for canary in canaries:
            if canary.casefold() in folded:
                leaks.append(Leak(canary, record.method, "text"))
            elif sum(ch.isdigit() for ch in canary) >= 5 and _flat(canary) in flat:
                leaks.append(Leak(canary, record.method, "digits"))
            elif any(_contains(seq, run) for seq in sequences for run in token_runs.get(canary, [])):
                leaks.append(Leak(canary, record.method, "token ids"))
    return leaks

"""PUPA queries through the real outbound path: the edge agent, the gRPC client, a cloud process.

Each query is asked as a user would ask it with an empty store (`cloud-public` or `sketch`),
and what the cloud *received* (the server's byte capture, decoded) is what gets scored. The
models only have to run, not to write well, so the smallest ones do: the test model on both
sides, one token per answer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from google.protobuf.message import DecodeError, Message

from bench.leaks import REQUEST_TYPES
from cloud_service.capture import read_capture
from edge_agent.cloud_client import CloudError
from edge_agent.cloud_process import CloudProcess
from edge_agent.config import load_config
from edge_agent.context import PrivateContext
from edge_agent.strategies import AskRequest
from runtime.models import resolve_model
from runtime.models.catalog import TEST_MODEL

log = logging.getLogger(__name__)

STRATEGIES = ("cloud-public", "sketch")
N_CTX = 8192  # the longest PUPA query is ~2,500 tokens; SmolLM2 holds 8k


CONSTANT_FIELDS = ("system",)  # the product's own instructions, the same for every query


def message_strings(message: Message) -> list[str]:
    """Every string field of a message (nested and repeated ones included) but the constant ones.

    The system prompt is left out because it is the same for every query: a two-letter unit
    such as "us" would otherwise be "found" in "the user asks".
    """
    texts: list[str] = []
    for descriptor, value in message.ListFields():
        if descriptor.name in CONSTANT_FIELDS:
            continue
        for item in value if descriptor.is_repeated else [value]:
            if isinstance(item, str):
                texts.append(item)
            elif descriptor.message_type is not None:
                texts.extend(message_strings(item))
    return texts


def received_text(capture: Path, start: int) -> tuple[str, int]:
    """The strings of the requests captured after the first `start` ones, and the new count."""
    records = read_capture(capture)
    texts = []
    for record in records[start:]:
        kind = REQUEST_TYPES.get(record.method)
        if kind is None:
            continue
        try:
            texts += message_strings(kind.FromString(record.payload))
        except DecodeError:
            texts.append(record.payload.decode("utf-8", errors="replace"))
    return "\n".join(texts), len(records)


@contextlib.contextmanager
def outbound_redactor(strategy: str, model: str = TEST_MODEL) -> Iterator[Callable[[str], str]]:
    """A redactor that asks each query with `strategy` and returns what the cloud received for it."""
    from edge_agent.agent import EdgeAgent

    if strategy not in STRATEGIES:
        raise ValueError(f"outbound strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    with tempfile.TemporaryDirectory(prefix="tandem-pupa-") as tmp:
        capture = Path(tmp) / "received.jsonl"
        env = dict(os.environ, TANDEM_SERVER_CAPTURE_FILE=str(capture), TANDEM_SERVER_N_CTX=str(N_CTX))
        with CloudProcess(model=str(resolve_model(model)), env=env) as cloud:
            config = load_config()
            config.cloud.address = cloud.address
            config.cloud.sketch_max_tokens = 16
            config.edge.model, config.edge.n_ctx = str(resolve_model(model)), N_CTX
            config.privacy.audit_log = str(Path(tmp) / "audit.jsonl")
            config.quality.score = False
            agent = EdgeAgent(config)
            seen = 0

            def redact(query: str) -> str:
                nonlocal seen
                try:
                    agent.ask(AskRequest(query, PrivateContext(), strategy, max_tokens=1)).text()
                except CloudError as exc:  # what was sent before the refusal still counts
                    log.warning("%s: %s", strategy, exc)
                sent, seen = received_text(capture, seen)
                return sent

            try:
                yield redact
            finally:
                agent.close()

"""The canary test for conversations: a canary that appears only in an earlier turn (the user's
instruction and the answer to it, not the notes, not the new instruction) must not reach the
cloud, for every strategy that calls the cloud, while the earlier turns do go up, redacted.

Real parts as in test_canary.py: `tandem cloud serve` in its own process on loopback capturing
every byte it receives, the edge model real (SmolLM2-135M on both sides: the mechanics are under
test), the private store real, the follow-up asked through the answer service.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bench.leaks import find_leaks
from cloud_service.capture import read_capture
from edge_agent.agent import EdgeAgent
from edge_agent.cloud_process import CloudProcess
from edge_agent.config import load_config
from edge_agent.local_model import EdgeModel
from edge_agent.service import AnswerService
from edge_agent.store import Store
from edge_agent.strategies import STRATEGIES, AskRequest
from protos import tandem_pb2 as pb

CLOUD_STRATEGIES = [s.name for s in STRATEGIES.values() if s.calls_cloud and not s.opt_in]
CANARIES = ("Zyxwortha Quennell", "QX-77104-ZZ", "zyx.quennell@example.org", "7352")
EARLIER = (
    "Write a note to Zyxwortha Quennell: her badge number is QX-77104-ZZ, the locker code is 7352, "
    "and her email is zyx.quennell@example.org.",
    "Dear Zyxwortha Quennell, your badge QX-77104-ZZ is ready and your locker code is 7352. "
    "Write to zyx.quennell@example.org if anything is wrong.",
)
FOLLOW_UP = "Now make it shorter and friendlier."
PERSON = re.compile(r"\[PERSON_\d+\]")


@pytest.fixture(scope="module")
def cloud_capture(smol_path: Path, tmp_path_factory: pytest.TempPathFactory):
    capture = tmp_path_factory.mktemp("capture") / "received.jsonl"
    env = dict(os.environ, TANDEM_SERVER_CAPTURE_FILE=str(capture), TANDEM_SERVER_N_CTX="2048")
    with CloudProcess(model=str(smol_path), env=env) as cloud:
        yield cloud, capture


def _history_sent(method: str, payload: bytes) -> list[pb.Turn]:
    """The earlier turns a captured request carried (Generate, Sketch, or a Fuse stream's opening)."""
    if method == "Generate":
        return list(pb.GenerateRequest.FromString(payload).history)
    if method == "Sketch":
        return list(pb.SketchRequest.FromString(payload).history)
    if method == "Fuse":
        request = pb.FuseRequest.FromString(payload)
        return list(request.open.history) if request.HasField("open") else []
    return []


def test_no_canary_of_an_earlier_turn_reaches_the_cloud(cloud_capture, edge_model: EdgeModel, embedder, tokenize,
                                                        tmp_path: Path) -> None:
    cloud, capture = cloud_capture
    config = load_config(environ={})
    config.cloud.address = cloud.address
    config.cloud.timeout_s = 60
    config.cloud.sketch_max_tokens = 32
    config.edge.n_ctx = 2048
    config.privacy.audit_log = str(tmp_path / "audit.jsonl")
    agent = EdgeAgent(config, edge_model=edge_model)
    before = len(read_capture(capture))
    request_ids: dict[str, str] = {}
    with Store(tmp_path / "store.sqlite3", embedder=embedder) as store:
        store.add_note("I water the plants on Sundays.")  # notes without any canary
        service = AnswerService(config, store, agent)
        for strategy in CLOUD_STRATEGIES:
            conversation = store.create_conversation().id
            store.add_message(conversation, "user", EARLIER[0])
            store.add_message(conversation, "assistant", EARLIER[1], meta={"strategy": "edge", "notes_chunks": []})
            turn = service.start(AskRequest(FOLLOW_UP, strategy=strategy, max_tokens=8), conversation)
            "".join(turn)
            assert turn.report.history_turns == 1 and not turn.report.context_sent
            assert turn.report.wire.rpcs, f"{strategy} must really have talked to the cloud"
            request_ids[strategy] = turn.request_id

    received = read_capture(capture)[before:]
    assert find_leaks(received, list(CANARIES), tokenize) == []
    # The earlier turn did go up, redacted: the cloud sees what "it" is, without the details.
    sent = [turn for record in received for turn in _history_sent(record.method, record.payload)]
    assert {r.method for r in received} >= {"Generate", "Sketch", "Fuse"}
    assert sent and all(PERSON.search(t.instruction) and "[ID_1]" in t.instruction and "[ID_1]" in t.answer
                        and "[NUMBER_" in t.answer and "[EMAIL_" in t.answer for t in sent)
    # Client side: the audit log holds exactly the bytes the server received, each strategy's included.
    audited = [e for e in agent.audit.entries() if e.request_id in request_ids.values()]
    assert [e.payload for e in audited] == [r.payload for r in received]
    for strategy, request_id in request_ids.items():
        summaries = " ".join(e.summary for e in audited if e.request_id == request_id)
        assert "history" in summaries and PERSON.search(summaries), strategy

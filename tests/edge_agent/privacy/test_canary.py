"""The canary test: plant unique strings in the private context, capture every byte the
cloud service receives (server side) and every byte the edge sent (client side, the audit
log), and prove that no canary crossed, as text or as token ids.

Real parts: the cloud is `tandem cloud serve` in its own process on loopback, the edge
model is real; SmolLM2-135M plays both roles because the mechanics, not the prose, are
under test. It must stay green for every strategy that talks to the cloud.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.leaks import find_leaks
from bench.tasks import load_tasks
from cloud_service.capture import read_capture
from edge_agent.agent import EdgeAgent
from edge_agent.cloud_process import CloudProcess
from edge_agent.config import load_config
from edge_agent.context import PrivateContext
from edge_agent.local_model import EdgeModel
from edge_agent.strategies import AskRequest

PRIVACY_STRATEGIES = ("edge", "cloud-public", "sketch", "fuse", "checked", "slots")
# Extra canaries that look like nothing a model would produce by chance.
PLANTED = ("Zyxwortha Quennell", "QX-77104-ZZ", "zyx.quennell@example.org")


@pytest.fixture(scope="module")
def cloud_capture(smol_path: Path, tmp_path_factory: pytest.TempPathFactory):
    capture = tmp_path_factory.mktemp("capture") / "received.jsonl"
    import os

    env = dict(os.environ, TANDEM_SERVER_CAPTURE_FILE=str(capture), TANDEM_SERVER_N_CTX="2048")
    with CloudProcess(model=str(smol_path), env=env) as cloud:
        yield cloud, capture


def _agent(cloud_address: str, edge_model: EdgeModel, allow_context: bool = False) -> EdgeAgent:
    config = load_config(environ={})
    config.cloud.address = cloud_address
    config.cloud.allow_context = allow_context
    config.cloud.timeout_s = 60
    config.cloud.sketch_max_tokens = 32
    return EdgeAgent(config, edge_model=edge_model)


def _tasks():
    tasks = load_tasks(limit=int(os.environ.get("CANARY_TASKS", "5")))
    assert any(c.casefold() in t.instruction.casefold() or any(w in t.instruction for w in t.private_context.split()
               if w[:1].isupper() and len(w) > 3) for t in tasks for c in t.canaries)
    return tasks


def test_no_canary_reaches_the_cloud(cloud_capture, edge_model: EdgeModel, tokenize) -> None:
    cloud, capture = cloud_capture
    agent = _agent(cloud.address, edge_model)
    before = len(read_capture(capture))
    canaries: set[str] = set(PLANTED)
    request_ids: list[str] = []
    reports: dict[str, object] = {}
    for task in _tasks():
        context = PrivateContext(task.private_context + "\n" + "\n".join(f"Secret: {p}" for p in PLANTED))
        canaries.update(task.canaries)
        for strategy in PRIVACY_STRATEGIES:
            # Users type private details into instructions too: mention the first canary.
            instruction = task.instruction + f" Mention {task.canaries[0]} if relevant."
            answer = agent.ask(AskRequest(instruction, context, strategy, max_tokens=12))
            answer.text()
            assert not answer.report.context_sent
            request_ids.append(answer.report.request_id)
            reports[answer.report.request_id] = answer.report
    received = read_capture(capture)[before:]
    methods = {r.method for r in received}
    assert {"Generate", "Sketch", "Fuse"} <= methods, "the cloud strategies must really have talked to the cloud"
    assert find_leaks(received, sorted(canaries), tokenize) == []

    # Client side: the audit log holds every byte the server received, in order. A message the
    # edge sent but the server never read (a call that timed out on a loaded machine) is in the
    # audit only; that may happen only where the answer says it fell back to the edge.
    audited = [e for e in agent.audit.entries() if e.request_id in request_ids]
    unread = audited_but_not_received(audited, [r.payload for r in received])
    assert all(reports[e.request_id].fallback for e in unread), [e.rpc for e in unread]
    assert find_leaks(received, sorted(canaries), tokenize) == []


def test_best_of_sends_no_canary(cloud_capture, edge_model: EdgeModel, tokenize) -> None:
    """best-of reaches the cloud only through the strategies it gathers (sketch and fuse by default):
    one task, its cloud candidates really asking the cloud, nothing private in what it received."""
    cloud, capture = cloud_capture
    agent = _agent(cloud.address, edge_model)
    agent.config.best_of.strategies = "sketch,fuse"  # the candidates that ask the cloud
    agent.config.best_of.samples, agent.config.best_of.max_verify = 0, 1
    agent.config.quality.score = False  # the scorer and the fused answer's finish run on the device and send
    agent.config.fuse.finish = False  # nothing; left out to save time
    before = len(read_capture(capture))
    task = _tasks()[0]
    context = PrivateContext(task.private_context + "\n" + "\n".join(f"Secret: {p}" for p in PLANTED))
    answer = agent.ask(AskRequest(task.instruction + f" Mention {task.canaries[0]} if relevant.", context, "best-of",
                                  max_tokens=12))
    answer.text()
    assert not answer.report.context_sent and len(answer.report.candidates) == 2
    received = read_capture(capture)[before:]
    assert {"Sketch", "Fuse"} <= {r.method for r in received}
    assert find_leaks(received, sorted({*PLANTED, *task.canaries}), tokenize) == []
    audited = [e for e in agent.audit.entries() if e.request_id == answer.report.request_id]
    unread = audited_but_not_received(audited, [r.payload for r in received])  # fails on a byte not audited
    assert not unread or answer.report.fallback, [e.rpc for e in unread]


def audited_but_not_received(audited: list, received: list[bytes]) -> list:
    """The audit entries left over when `received` is matched to the audit in order.

    Fails if a received payload is not in the audit (in order): that would be a byte the
    edge sent without writing it down.
    """
    left, position = [], 0
    for entry in audited:
        if position < len(received) and entry.payload == received[position]:
            position += 1
        else:
            left.append(entry)
    assert position == len(received), f"the server received {len(received) - position} message(s) not in the audit"
    return left


def test_the_audit_check_fails_on_a_message_sent_without_audit() -> None:
    class Entry:
        def __init__(self, payload: bytes) -> None:
            self.payload = payload

    assert audited_but_not_received([Entry(b"a"), Entry(b"b")], [b"a", b"b"]) == []
    with pytest.raises(AssertionError, match="not in the audit"):
        audited_but_not_received([Entry(b"a")], [b"a", b"x"])


def test_the_leak_check_catches_the_opt_in_baseline(cloud_capture, edge_model: EdgeModel, tokenize) -> None:
    """Control: the opt-in strategy sends the context, and the same check must see it."""
    cloud, capture = cloud_capture
    agent = _agent(cloud.address, edge_model, allow_context=True)
    before = len(read_capture(capture))
    task = load_tasks(limit=1)[0]
    answer = agent.ask(AskRequest(task.instruction, PrivateContext(task.private_context), "cloud-with-context",
                                  max_tokens=4))
    answer.text()
    assert answer.report.context_sent and "OPT-IN" in answer.report.summary()
    leaks = find_leaks(read_capture(capture)[before:], list(task.canaries), tokenize)
    assert {leak.canary for leak in leaks} == set(task.canaries)


def test_token_id_leaks_are_detected(tokenize) -> None:
    """The token-id path of the checker finds a canary sent as Fuse draft ids, not as text."""
    from cloud_service.capture import CapturedRequest
    from protos import tandem_pb2 as pb

    ids = tokenize(" " + PLANTED[0])
    step = pb.FuseRequest(step=pb.FuseStep(keep=1, draft_ids=[1, 2, *ids, 3]))
    record = CapturedRequest("Fuse", step.SerializeToString(), 0.0)
    assert [leak.how for leak in find_leaks([record], [PLANTED[0]], tokenize)] == ["token ids"]
    assert find_leaks([record], [PLANTED[0]], None) == []


HEALTH_NOTES = "Started sertraline for depression in May\nDiagnosis: fibromyalgia, seeing Dr. Quennell monthly"
HEALTH = ("sertraline", "depression", "fibromyalgia")
TYPED = ("212-555-0199", "quennella.b@brightwater.example")


def test_health_facts_and_typed_details_never_reach_the_cloud(cloud_capture, edge_model: EdgeModel,
                                                              tokenize) -> None:
    """A diagnosis and a medication in the notes, repeated in the instruction, and contact
    details typed into the instruction only: none of them crosses, for every strategy."""
    cloud, capture = cloud_capture
    agent = _agent(cloud.address, edge_model)
    before = len(read_capture(capture))
    context = PrivateContext(HEALTH_NOTES)
    instruction = ("Write a note to my manager that I take sertraline for my depression and fibromyalgia, "
                   f"and that she can call me at {TYPED[0]} or write to {TYPED[1]}.")
    for strategy in PRIVACY_STRATEGIES:
        answer = agent.ask(AskRequest(instruction, context, strategy, max_tokens=16))
        answer.text()
        assert not answer.report.context_sent
    received = read_capture(capture)[before:]
    assert {"Generate", "Sketch", "Fuse"} <= {r.method for r in received}
    assert find_leaks(received, [*HEALTH, *TYPED], tokenize) == []
    # control: the same check sees the details in the instruction as typed
    from cloud_service.capture import CapturedRequest
    from protos import tandem_pb2 as pb

    raw = CapturedRequest("Generate", pb.GenerateRequest(prompt=instruction).SerializeToString(), 0.0)
    assert {leak.canary for leak in find_leaks([raw], [*HEALTH, *TYPED], tokenize)} == {*HEALTH, *TYPED}

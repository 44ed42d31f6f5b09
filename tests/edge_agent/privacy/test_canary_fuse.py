"""The canary test for fuse, every rule and every mode.

Canaries (planted strings, a diagnosis, a medication, a phone, the tasks' own canaries) sit in
the private notes; the edge is asked to write about them, and the instruction names one. Every
fusion rule in every mode answers; the cloud service (its own process, SmolLM2-135M on both
sides: the mechanics are under test, not the prose) captures every byte it receives, and no
canary may appear there, as text, digit runs or token ids. No answer may be cut off: the door
never refuses what the decoder sends, and every message the edge audited reached the server.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.leaks import find_leaks
from bench.tasks import load_tasks
from cloud_service.capture import read_capture
from edge_agent.agent import EdgeAgent
from edge_agent.cloud_process import CloudProcess
from edge_agent.config import FUSE_MODES, FUSE_RULES, FuseConfig, load_config
from edge_agent.context import PrivateContext
from edge_agent.fusion.rules import GATE_FEATURES
from edge_agent.local_model import EdgeModel
from edge_agent.strategies import AskRequest

HEALTH = ("fibromyalgia", "sertraline")
PLANTED = ("Zyxwortha Quennell", "QX-77104-ZZ", "+1 (212) 555-0199")
NOTES = (f"Name: {PLANTED[0]}\nDiagnosis: {HEALTH[0]}, since May\nMedication: {HEALTH[1]} 50 mg every morning\n"
         f"Phone: {PLANTED[2]}\nInsurance number: {PLANTED[1]}\nMy dog Pixel needs a walk at 6 pm")
INSTRUCTIONS = (
    "Write a note to my manager explaining my health situation and my treatment.",
    f"Write a short message to my pharmacist about my {HEALTH[1]} refill; give my phone number.",
)


@pytest.fixture(scope="module")
def cloud_capture(smol_path: Path, tmp_path_factory: pytest.TempPathFactory):
    capture = tmp_path_factory.mktemp("capture") / "received.jsonl"
    env = dict(os.environ, TANDEM_SERVER_CAPTURE_FILE=str(capture), TANDEM_SERVER_N_CTX="2048",
               TANDEM_SERVER_N_THREADS="1")
    with CloudProcess(model=str(smol_path), env=env) as cloud:
        yield cloud, capture


def _agent(address: str, edge_model: EdgeModel, smol_path: Path, gate_file: Path, rule: str, mode: str) -> EdgeAgent:
    config = load_config(environ={})
    config.cloud.address = address
    config.cloud.timeout_s = 120
    config.quality.score = False
    config.fuse.rule, config.fuse.mode = rule, mode
    config.fuse.confidence = 0.9  # selective: ask about most tokens, so the cloud's part is exercised
    config.fuse.ahead = 4  # and send tokens ahead, so that path is too
    config.fuse.gate_file = str(gate_file)
    config.fuse.base_model = str(smol_path)  # the proxy rule's base (a third model on the edge)
    # The finish runs on the edge and sends nothing (the audit check below would see it if it did):
    # it runs under the default rule, as users get it, and is left out of the others to save time.
    config.fuse.finish = rule == FuseConfig.rule
    return EdgeAgent(config, edge_model=edge_model)


def _requests() -> list[tuple[str, PrivateContext, list[str]]]:
    """(instruction, notes, canaries): the health notes, and two benchmark tasks with canaries planted."""
    requests = [(instruction, PrivateContext(NOTES), [*HEALTH, *PLANTED]) for instruction in INSTRUCTIONS]
    for task in load_tasks(limit=2):
        notes = PrivateContext(task.private_context + f"\nDiagnosis: {HEALTH[0]}\nMedication: {HEALTH[1]} 50 mg")
        instruction = task.instruction + f" Mention {task.canaries[0]} if relevant."
        requests.append((instruction, notes, [*task.canaries, *HEALTH]))
    return requests


@pytest.mark.parametrize("rule", FUSE_RULES)
def test_no_rule_or_mode_sends_a_canary(rule: str, cloud_capture, edge_model: EdgeModel, smol_path: Path,
                                        tokenize, tmp_path: Path) -> None:
    cloud, capture = cloud_capture
    gate_file = tmp_path / "gate.json"
    gate_file.write_text(json.dumps({"theta": [0.0] * len(GATE_FEATURES)}), encoding="utf-8")
    for mode in FUSE_MODES:
        agent = _agent(cloud.address, edge_model, smol_path, gate_file, rule, mode)
        before = len(read_capture(capture))
        asked = round_trips = 0
        canaries: set[str] = set()
        request_ids = []
        for instruction, notes, secrets in _requests():
            answer = agent.ask(AskRequest(instruction, notes, "fuse", max_tokens=32))
            text = answer.text()
            report = answer.report
            assert text.strip() and report.answered_by == "edge+cloud", (rule, mode, report.fallback)
            assert not report.fuse.cloud_lost and not report.fallback, (rule, mode, report.fallback)  # never cut off
            asked += report.fuse.asked
            round_trips += report.fuse.round_trips
            canaries.update(secrets)
            request_ids.append(report.request_id)
        received = read_capture(capture)[before:]
        assert asked > 0 and round_trips > 0, (rule, mode)  # the cloud really took part
        assert sum(r.method == "Fuse" for r in received) >= round_trips
        assert find_leaks(received, sorted(canaries), tokenize) == [], (rule, mode)
        audited = [e.payload for e in agent.audit.entries() if e.request_id in request_ids]
        assert audited == [r.payload for r in received], (rule, mode)  # every audited byte arrived, nothing else


def test_the_check_sees_canaries_sent_as_token_ids(tokenize) -> None:
    """Control: the same check finds the health canaries when a Fuse step carries their ids."""
    from cloud_service.capture import CapturedRequest
    from protos import tandem_pb2 as pb

    ids = tokenize(f" {HEALTH[0]} and {HEALTH[1]}")
    step = pb.FuseRequest(step=pb.FuseStep(append=[pb.FuseAppend(ids=ids)]))
    found = find_leaks([CapturedRequest("Fuse", step.SerializeToString(), 0.0)], list(HEALTH), tokenize)
    assert {leak.canary for leak in found} == set(HEALTH)

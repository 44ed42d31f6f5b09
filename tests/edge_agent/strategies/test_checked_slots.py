"""checked, slots and fuse end to end on real models: SmolLM2-135M as the edge (and as the cloud, in its
own `tandem cloud serve` process), the real MiniLM embedder, short generations. The mechanics are
under test, not the prose: whatever the small model writes, the finish must carry the relevant notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.agent import EdgeAgent
from edge_agent.cloud_process import CloudProcess, free_port
from edge_agent.collab.repair import coverage
from edge_agent.config import load_config
from edge_agent.context import PrivateContext
from edge_agent.local_model import EdgeModel
from edge_agent.strategies import STRATEGIES, AskRequest

NOTES = PrivateContext("\n".join([
    "Name: Daniela Ferreira-Lindqvist",
    "Phone: +46 70 555 0142",
    "Landlord: Mr. Holm, holm.fastigheter@example.com",
    "Bedroom radiator has been cold since Monday",
    "Parents visiting from Porto on March 14, staying 5 nights",
    "Gym membership renews April 1",
]))
INSTRUCTION = "Write a short email to my landlord asking to fix the heating before my guests arrive."


@pytest.fixture(scope="module")
def edge(smol_path: Path):
    model = EdgeModel(smol_path, n_ctx=2048, n_threads=1)
    yield model
    model.close()


def _agent(edge: EdgeModel, address: str, **fuse: object) -> EdgeAgent:
    config = load_config(environ={})
    for key, value in fuse.items():
        setattr(config.fuse, key, value)
    config.cloud.address = address
    config.cloud.connect_timeout_s = 0.3
    config.cloud.timeout_s = 60
    return EdgeAgent(config, edge_model=edge)


def _assert_finished(report, text: str) -> None:
    assert text.strip() and report.text == text  # what streamed is the finished text
    assert report.draft and report.draft != text  # the draft was changed (the notes were missing from it)
    assert len(report.notes_used) >= 3 and all(line in NOTES.lines for line in report.notes_used)
    assert "Phone: +46 70 555 0142" not in report.notes_used  # profile lines are never "used" notes
    missing = [line for line in report.notes_used if not coverage(text, line, NOTES.lines).covered]
    assert len(missing) <= max(0, len(report.notes_used) - 3)  # a repair adds at most 3 lines
    assert report.repair_added and "[" not in text
    assert report.first_text_s is not None and report.first_text_s >= 0.9 * report.total_s  # yielded whole


def test_checked_repairs_the_edge_answer_with_the_relevant_notes(edge: EdgeModel) -> None:
    assert not STRATEGIES["checked"].calls_cloud
    agent = _agent(edge, f"127.0.0.1:{free_port()}")
    answer = agent.ask(AskRequest(INSTRUCTION, NOTES, "checked", max_tokens=24))
    text = answer.text()
    report = answer.report
    _assert_finished(report, text)
    assert report.answered_by == "edge" and not report.wire.rpcs and not report.fallback
    assert report.edge_tokens > 24  # the draft plus the repair's sentences


def test_slots_falls_back_to_checked_without_a_cloud(edge: EdgeModel) -> None:
    agent = _agent(edge, f"127.0.0.1:{free_port()}")
    answer = agent.ask(AskRequest(INSTRUCTION, NOTES, "slots", max_tokens=24))
    text = answer.text()
    assert "unreachable" in answer.report.fallback and "checked" in answer.report.fallback
    assert answer.report.answered_by == "edge"
    _assert_finished(answer.report, text)


def test_slots_drafts_on_the_cloud_and_finishes_on_the_edge(edge: EdgeModel, smol_path: Path) -> None:
    with CloudProcess(model=str(smol_path)) as cloud:
        agent = _agent(edge, cloud.address)
        answer = agent.ask(AskRequest(INSTRUCTION, NOTES, "slots", max_tokens=24))
        text = answer.text()
    report = answer.report
    assert report.wire.rpcs == ["Generate"] and not report.fallback and not report.context_sent
    assert report.answered_by == "edge+cloud"
    _assert_finished(report, text)
    sent = [e for e in agent.audit.entries() if e.request_id == report.request_id]
    assert len(sent) == 1 and b"Holm" not in sent[0].payload and b"Porto" not in sent[0].payload


def test_fuse_finishes_its_answer_on_the_edge_unless_told_to_stream(edge: EdgeModel, smol_path: Path) -> None:
    with CloudProcess(model=str(smol_path)) as cloud:
        finished = _agent(edge, cloud.address).ask(AskRequest(INSTRUCTION, NOTES, "fuse", max_tokens=24))
        text = finished.text()
        streamed = _agent(edge, cloud.address, finish=False).ask(AskRequest(INSTRUCTION, NOTES, "fuse", max_tokens=24))
        pieces = list(streamed)
    report = finished.report
    assert report.answered_by == "edge+cloud" and report.fuse is not None and not report.fallback
    _assert_finished(report, text)
    assert len(pieces) > 1 and "".join(pieces) == streamed.report.text  # token by token, as fused
    assert not streamed.report.draft and not streamed.report.repair_added and streamed.report.fuse.tokens > 0

"""The edge agent's strategies against a real cloud process (SmolLM2 on both sides, for speed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge_agent.agent import EdgeAgent
from edge_agent.cloud_process import CloudProcess, free_port
from edge_agent.config import load_config
from edge_agent.context import PrivateContext
from edge_agent.local_model import EdgeModel
from edge_agent.strategies import AskRequest, StrategyRefused

NOTES = PrivateContext("Name: Priya Raman\nDentist appointment on March 14 at 3:30 pm\nPhone: 415-555-0134")


@pytest.fixture(scope="module")
def cloud(smol_path: Path):
    env = dict(os.environ, TANDEM_SERVER_N_CTX="2048")
    with CloudProcess(model=str(smol_path), env=env) as process:
        yield process


@pytest.fixture(scope="module")
def edge_model(smol_path: Path):
    model = EdgeModel(smol_path, n_ctx=2048, n_threads=1)
    yield model
    model.close()


def make_agent(edge_model: EdgeModel, address: str, **cloud_settings) -> EdgeAgent:
    config = load_config(environ={})
    config.cloud.address = address
    config.cloud.sketch_max_tokens = 32
    for key, value in cloud_settings.items():
        setattr(config.cloud, key, value)
    return EdgeAgent(config, edge_model=edge_model)


def test_edge_sends_nothing(edge_model: EdgeModel, cloud: CloudProcess) -> None:
    agent = make_agent(edge_model, cloud.address)
    answer = agent.ask(AskRequest("Remind me of my appointment.", NOTES, "edge", max_tokens=12))
    assert answer.text().strip()
    report = answer.report
    assert report.wire.rpcs == [] and report.answered_by == "edge" and not report.fallback
    assert report.edge_tokens >= 1 and report.total_s is not None
    assert "nothing was sent to the cloud" in report.summary()


def test_cloud_public_redacts_and_audits(edge_model: EdgeModel, cloud: CloudProcess) -> None:
    agent = make_agent(edge_model, cloud.address)
    answer = agent.ask(AskRequest("Text Priya Raman that I am late.", NOTES, "cloud-public", max_tokens=16))
    text = answer.text()
    report = answer.report
    assert text.strip() and report.answered_by == "cloud" and report.wire.rpcs == ["Generate"]
    assert report.wire.bytes_up > 0 and report.wire.bytes_down > 0
    (entry,) = agent.audit.entries(request_id=report.request_id)
    assert entry.rpc == "/tandem.v1.CloudModel/Generate" and len(entry.payload) == report.wire.bytes_up
    assert "Priya" not in entry.summary and "[PERSON_1]" in entry.summary
    assert b"Priya" not in entry.payload


def test_sketch_gets_an_outline_then_writes_on_the_edge(edge_model: EdgeModel, cloud: CloudProcess) -> None:
    agent = make_agent(edge_model, cloud.address)
    answer = agent.ask(AskRequest("Write a note about my dentist visit.", NOTES, "sketch", max_tokens=12))
    assert answer.text().strip()
    report = answer.report
    assert report.wire.rpcs == ["Sketch"] and report.sketch and report.answered_by == "edge+cloud"
    assert report.edge_tokens >= 1


@pytest.mark.parametrize("strategy", ["cloud-public", "sketch"])
def test_unreachable_cloud_falls_back_to_the_edge(edge_model: EdgeModel, strategy: str) -> None:
    agent = make_agent(edge_model, f"127.0.0.1:{free_port()}", connect_timeout_s=0.5)
    answer = agent.ask(AskRequest("Write a note about my dentist visit.", NOTES, strategy, max_tokens=8))
    assert answer.text().strip()
    assert answer.report.answered_by == "edge" and "unreachable" in answer.report.fallback
    assert "edge-only fallback" in answer.report.summary()


def test_slow_cloud_deadline_falls_back(edge_model: EdgeModel, cloud: CloudProcess) -> None:
    agent = make_agent(edge_model, cloud.address, timeout_s=0.05)
    answer = agent.ask(AskRequest("Write a long story about a lighthouse.", NOTES, "sketch", max_tokens=8))
    assert answer.text().strip()
    assert "DEADLINE_EXCEEDED" in answer.report.fallback and answer.report.answered_by == "edge"


def test_cloud_with_context_is_refused_unless_enabled(edge_model: EdgeModel, cloud: CloudProcess) -> None:
    agent = make_agent(edge_model, cloud.address)
    with pytest.raises(StrategyRefused, match="allow_context = true"):
        agent.ask(AskRequest("Write a note.", NOTES, "cloud-with-context", max_tokens=4)).text()
    assert agent.audit.entries() == []  # nothing left the device


def test_cancel_stops_the_answer(edge_model: EdgeModel, cloud: CloudProcess) -> None:
    agent = make_agent(edge_model, cloud.address)
    answer = agent.ask(AskRequest("Write a long story about a lighthouse.", NOTES, "edge", max_tokens=200))
    pieces = []
    for piece in answer:
        pieces.append(piece)
        if len(pieces) == 3:
            answer.cancel()
    assert len(pieces) <= 4 and answer.report.edge_tokens < 200

"""best-of with the real edge model, the shipped scorer and the verifier; the cloud is unreachable
here, so its candidates come from the edge fallbacks (the strategy must still work offline)."""

from pathlib import Path

import pytest

from edge_agent.agent import EdgeAgent
from edge_agent.cloud_process import free_port
from edge_agent.config import ConfigError, load_config
from edge_agent.context import PrivateContext
from edge_agent.local_model import EdgeModel
from edge_agent.strategies import AskRequest

NOTES = PrivateContext("Name: Priya Raman\nDentist appointment on March 14 at 3:30 pm")


@pytest.fixture(scope="module")
def edge(smol_path: Path):
    model = EdgeModel(smol_path, n_ctx=2048, n_threads=1)
    yield model
    model.close()


def test_best_of_ranks_verifies_and_reports(edge: EdgeModel) -> None:
    config = load_config(environ={})
    config.cloud.address = f"127.0.0.1:{free_port()}"
    config.cloud.connect_timeout_s = 0.3
    config.best_of.strategies = "edge,sketch"
    config.best_of.samples = 1
    config.best_of.max_verify = 1
    agent = EdgeAgent(config, edge_model=edge)
    answer = agent.ask(AskRequest("Remind me of my dentist appointment.", NOTES, "best-of", max_tokens=16))
    text = answer.text()
    report = answer.report
    assert text.strip()
    assert [c.strategy for c in report.candidates][:2] == ["edge", "sketch"] and len(report.candidates) == 3
    assert all(c.score is not None and 0.0 <= c.score <= 1.0 for c in report.candidates)
    chosen = next(c for c in report.candidates if c.strategy == report.chosen)
    assert chosen.text == text.strip() and report.score == chosen.score
    assert report.verdict in ("A", "B", "C") and abs(sum(report.verdict_probs.values()) - 1) < 1e-6
    assert "unreachable" in report.fallback and "best of 3" in report.summary()


def test_every_answer_is_scored(edge: EdgeModel) -> None:
    agent = EdgeAgent(load_config(environ={}), edge_model=edge)
    answer = agent.ask(AskRequest("Remind me of my dentist appointment.", NOTES, "edge", max_tokens=8))
    answer.text()
    assert answer.report.score is not None and answer.report.verdict is None  # verify is off by default


def test_best_of_config_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[best_of]\nstrategies = 'edge,best-of'\n")
    with pytest.raises(ConfigError, match="best_of.strategies"):
        load_config(path, environ={})

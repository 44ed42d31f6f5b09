"""A follow-up in every strategy uses a detail that only the earlier turn holds.

Real models, because the detail must really be used: the Qwen2.5-Coder 0.5B edge and the 1.5B
cloud (`tandem cloud serve` in its own process; fuse needs the shared vocabulary). The earlier
turn is in the private store (not in the notes); the follow-up is asked through the answer
service. Strategies that call the cloud send it that turn redacted ([NUMBER_1]) and restore
the cloud's placeholders on the device.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge_agent.agent import EdgeAgent
from edge_agent.cloud_process import CloudProcess
from edge_agent.config import load_config
from edge_agent.local_model import EdgeModel
from edge_agent.service import AnswerService
from edge_agent.store import Store
from edge_agent.strategies import AskRequest

EARLIER = ("My new gym locker code is 7352. Write a one-line note so I remember it.",
           "Note to self: my gym locker code is 7352.")
FOLLOW_UP = "What is my gym locker code? Reply with the code only."
DETAIL = "7352"


@pytest.fixture(scope="module")
def cloud(cloud_path: Path):
    with CloudProcess(model=str(cloud_path), env=dict(os.environ, TANDEM_SERVER_N_CTX="2048")) as process:
        yield process


@pytest.fixture(scope="module")
def edge_model(edge_path: Path) -> EdgeModel:
    model = EdgeModel(edge_path, n_ctx=2048, n_threads=1)
    yield model
    model.close()


@pytest.mark.parametrize("strategy", ["edge", "cloud-public", "sketch", "fuse", "best-of"])
def test_the_follow_up_uses_what_only_the_earlier_turn_said(strategy: str, cloud: CloudProcess,
                                                            edge_model: EdgeModel, embedder, tmp_path: Path) -> None:
    config = load_config(environ={})
    config.cloud.address = cloud.address
    config.cloud.timeout_s = 300
    config.cloud.sketch_max_tokens = 48
    config.edge.n_ctx = 2048
    config.privacy.audit_log = str(tmp_path / "audit.jsonl")
    config.best_of.samples = 0
    agent = EdgeAgent(config, edge_model=edge_model)
    with Store(tmp_path / "store.sqlite3", embedder=embedder) as store:
        store.add_note("I go to the gym on Tuesdays and Thursdays.")  # the notes do not hold the code
        chat = store.create_conversation().id
        store.add_message(chat, "user", EARLIER[0])
        store.add_message(chat, "assistant", EARLIER[1], meta={"strategy": "edge", "notes_chunks": []})
        turn = AnswerService(config, store, agent).start(AskRequest(FOLLOW_UP, strategy=strategy, max_tokens=16), chat)
        text = "".join(turn)
        report = turn.report
        assert report.history_turns == 1 and not report.fallback, report.summary()
        assert DETAIL in text, (strategy, text)
        assert store.messages(chat)[-1].text == text
        if strategy != "edge":  # the cloud saw the earlier turn, without the code
            assert report.wire.rpcs
            sent = " ".join(e.summary for e in agent.audit.entries(request_id=report.request_id))
            assert "history" in sent and "[NUMBER_1]" in sent and DETAIL not in sent

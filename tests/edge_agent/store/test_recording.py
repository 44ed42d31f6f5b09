"""AnswerRecorder with the real edge agent (SmolLM2): what streams is what is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.agent import EdgeAgent
from edge_agent.config import load_config
from edge_agent.local_model import EdgeModel
from edge_agent.store import AnswerRecorder, Store
from edge_agent.strategies import AskRequest

COUNT = "Count from 1 to 100, one number per line."


@pytest.fixture(scope="module")
def agent(smol_path: Path):
    model = EdgeModel(smol_path, n_ctx=2048, n_threads=1)  # robust when the cores are busy
    config = load_config(environ={})
    config.cloud.address = "127.0.0.1:1"  # no cloud: only the edge strategy runs here
    yield EdgeAgent(config, edge_model=model)
    model.close()


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "store.sqlite3") as s:
        yield s


def test_a_finished_answer_is_stored_complete_with_its_report(agent: EdgeAgent, store: Store) -> None:
    answer = agent.ask(AskRequest("Say hello to Priya.", max_tokens=12))
    recorder = AnswerRecorder(store, None, "Say hello to Priya.")
    streamed = "".join(recorder.record(answer, context_source="test"))
    user, assistant = store.messages(recorder.conversation_id)
    assert (user.role, user.text, user.complete) == ("user", "Say hello to Priya.", True)
    assert (assistant.role, assistant.text, assistant.complete) == ("assistant", streamed, True)
    assert streamed.strip()
    assert assistant.meta["strategy"] == "edge" and assistant.meta["context_source"] == "test"
    assert assistant.meta["request_id"] == answer.report.request_id
    assert store.get_conversation(recorder.conversation_id).title == "Say hello to Priya."


def test_a_cancelled_answer_keeps_its_text_and_stays_incomplete(agent: EdgeAgent, store: Store) -> None:
    conversation = store.create_conversation("counting")
    answer = agent.ask(AskRequest(COUNT, max_tokens=64))
    recorder = AnswerRecorder(store, conversation.id, COUNT)
    streamed = ""
    for piece in recorder.record(answer):
        streamed += piece
        if len(streamed) > 6:
            answer.cancel()
    [_, assistant] = store.messages(conversation.id)
    assert assistant.text == streamed and not assistant.complete
    assert assistant.meta["interrupted"] == "cancelled"


def test_a_consumer_leaving_early_stops_the_answer_and_frees_the_model(agent: EdgeAgent, store: Store) -> None:
    answer = agent.ask(AskRequest(COUNT, max_tokens=64))
    recorder = AnswerRecorder(store, None, COUNT)
    stream = recorder.record(answer)
    first = next(stream)
    stream.close()  # what the daemon's handler does when its client disconnects
    [_, assistant] = store.messages(recorder.conversation_id)
    assert assistant.text == first and not assistant.complete
    assert assistant.meta["interrupted"] == "the client went away"
    # The edge model's lock was released: the next answer runs (it would hang otherwise).
    assert agent.ask(AskRequest("Say hi.", max_tokens=4)).text().strip()

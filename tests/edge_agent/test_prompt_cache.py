"""Saved KV states (PromptCache) with a real model (SmolLM2): a conversation's follow-up, after another
conversation ran, evaluates only its new turn, and answers as it would have without the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.agent import EdgeAgent
from edge_agent.config import load_config
from edge_agent.context import PrivateContext
from edge_agent.local_model import EdgeModel
from edge_agent.prompt_cache import PromptCache
from edge_agent.strategies import AskRequest
from edge_agent.strategies.base import HistoryTurn
from runtime import kv

NOTES_A = PrivateContext("Landlord: Mrs Alvarez, flat 3B, 12 Elm Street. The heating is broken since Monday.")
NOTES_B = PrivateContext("Dentist: Dr Chen, Friday 10am, 44 Harbour Road.")
FOLLOW_UP = "Now make it one line."


@pytest.fixture(scope="module")
def model(smol_path: Path) -> EdgeModel:
    edge = EdgeModel(smol_path, n_ctx=2048, n_threads=1)
    yield edge
    edge.close()


def _agent(model: EdgeModel, cache_mb: int = 64) -> EdgeAgent:
    config = load_config(environ={})
    config.cloud.address = "127.0.0.1:1"
    config.edge.kv_cache_mb = cache_mb
    config.quality.score = False
    return EdgeAgent(config, edge_model=model)


def _ask(agent: EdgeAgent, request: AskRequest):
    answer = agent.ask(request)
    return answer.text(), answer.report


def test_a_follow_up_after_another_conversation_reads_only_its_new_turn(model: EdgeModel) -> None:
    agent = _agent(model)
    first = AskRequest("Write a two-line note to my landlord about the heating.", NOTES_A, max_tokens=24)
    text_a, _ = _ask(agent, first)
    _ask(agent, AskRequest("Remind me of the dentist.", NOTES_B, max_tokens=12))  # another conversation
    follow_up = AskRequest(FOLLOW_UP, NOTES_A, max_tokens=10, history=(HistoryTurn(first.instruction, text_a),))
    cached_answer, report = _ask(agent, follow_up)
    new_turn = len(model.llm.tokenize(FOLLOW_UP.encode(), add_bos=False, special=False))
    assert agent.edge.cache.stats.restores == 1
    assert report.prompt_tokens - report.cached_tokens <= new_turn + 6  # the rest came from the saved state
    assert agent.edge.cache.stats.entries == 2  # conversation A's first state was replaced by its follow-up's

    # Without the cache the same prompt is read from scratch, and the answer is the same.
    kv.truncate(model.llm, 0)
    fresh_answer, fresh = _ask(_agent(model, cache_mb=0), follow_up)
    assert fresh.cached_tokens == 0 and fresh_answer == cached_answer


def test_the_cache_is_bounded_least_recently_used_out(model: EdgeModel) -> None:
    agent = _agent(model)
    for notes in (NOTES_A, NOTES_B):
        _ask(agent, AskRequest("Write one line.", notes, max_tokens=4))
    stats = agent.edge.cache.stats
    assert stats.entries == 2 and stats.bytes > 0
    one_state = stats.bytes // 2
    small = PromptCache(max_bytes=one_state + one_state // 2)  # room for one state only
    for notes in (NOTES_A, NOTES_B):
        kv.truncate(model.llm, 0)
        model.llm.eval(model.prompt_tokens([*_messages(notes)]))
        small.keep(model.llm)
    assert small.stats.entries == 1
    kept_b = kv.committed(model.llm)
    kv.truncate(model.llm, 0)
    assert small.prepare(model.llm, kept_b + [1, 2]) == len(kept_b)  # B, the most recent, is what is left
    assert kv.committed(model.llm) == kept_b
    assert PromptCache(0).prepare(model.llm, kept_b + [1]) == len(kept_b)  # the context's own prefix counts


def _messages(notes: PrivateContext):
    from edge_agent.strategies.prompts import edge_messages

    return edge_messages("Write one line.", notes)

"""Fused decoding against a real cloud process: speculative == step-by-step, fallbacks, sampling.

SmolLM2-135M plays both the edge and the cloud (same vocabulary, fast); the prompts
differ as in the product: the edge sees the notes, the cloud only the instruction.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge_agent.agent import EdgeAgent
from edge_agent.cloud_client import CloudClient
from edge_agent.cloud_process import CloudProcess
from edge_agent.config import load_config
from edge_agent.context import PrivateContext
from edge_agent.fusion import FusedDecoder, FuseSettings, make_rule
from edge_agent.fusion.base import WithoutNotes
from edge_agent.fusion.spans import SpanWatcher
from edge_agent.local_model import EdgeModel
from edge_agent.privacy import AuditLog, CopyDetector, PrivacyGuard
from edge_agent.strategies import AskRequest, prompts
from edge_agent.strategies.fuse import cloud_view
from runtime import kv

NOTES = PrivateContext("Name: Priya Raman\nDentist appointment on March 14 at 3:30 pm\nSister: Anjali")
PROMPTS = [
    "Write a short text to my sister about my dentist appointment.",
    "List three tips for sleeping well.",
    "Write a haiku about autumn.",
    "Give me a packing list for a weekend trip.",
    "Explain what a dentist does in two sentences.",
    "Write a thank-you note to a neighbour.",
    "Name four colours of the rainbow.",
    "Write a reminder for my appointment.",
    "Suggest a title for a blog post about tea.",
    "Say good morning to my team.",
]


@pytest.fixture(scope="module")
def cloud(smol_path: Path):
    env = dict(os.environ, TANDEM_SERVER_N_CTX="2048", TANDEM_SERVER_N_THREADS="1")
    with CloudProcess(model=str(smol_path), env=env) as process:
        yield process


@pytest.fixture(scope="module")
def edge(smol_path: Path):
    model = EdgeModel(smol_path, n_ctx=2048, n_threads=1)
    yield model
    model.close()


def decode(edge: EdgeModel, address: str | None, instruction: str, tmp_path: Path, rule: str = "fixed", **settings):
    """One fused answer (`address` None: no cloud, the edge alone); its text, stats and wire figures.

    Each starts from an empty edge context: the selective mode reads its prompt in large calls, so
    a prefix left by the previous answer would give slightly different floats."""
    kv.truncate(edge.llm, 0)
    guard = PrivacyGuard(NOTES.lines)
    client = CloudClient(address or "127.0.0.1:9", AuditLog(tmp_path / "audit.jsonl"), guard)
    channel, first, base = None, None, None
    if address is not None:
        channel = client.fuse(edge.detokenize)
        first = channel.open(instruction, prompts.CLOUD_PUBLIC_SYSTEM, edge.vocab_fingerprint, 20)
        if rule == "delta":
            base = WithoutNotes(edge.llm, edge.chat_tokens(cloud_view(guard.redact(instruction).text)))
    decoder = FusedDecoder(edge.llm, edge.chat_tokens(prompts.edge_messages(instruction, NOTES)), channel,
                           make_rule(rule), SpanWatcher(guard, CopyDetector(NOTES.lines, instruction)),
                           FuseSettings(**settings), base=base)
    text = "".join(decoder.run(first))
    client.close()
    return text, decoder.stats, client.stats


def test_speculative_greedy_equals_step_by_step(edge: EdgeModel, cloud: CloudProcess, tmp_path: Path) -> None:
    total_rounds = {0: 0, 6: 0}
    for i, instruction in enumerate(PROMPTS[:7]):
        step_text, step_stats, _ = decode(edge, cloud.address, instruction, tmp_path, max_tokens=16, draft=0)
        spec_text, spec_stats, _ = decode(edge, cloud.address, instruction, tmp_path, max_tokens=16, draft=6)
        assert spec_stats.token_ids == step_stats.token_ids, instruction
        assert spec_text == step_text
        total_rounds[0] += step_stats.round_trips
        total_rounds[6] += spec_stats.round_trips
        assert step_stats.drafted == 0
        if i < 3:  # 12 drafts span two of the cloud's scoring calls (llama_fuse.SCORE_BATCH = 8)
            long_stats = decode(edge, cloud.address, instruction, tmp_path, max_tokens=16, draft=12)[1]
            assert long_stats.token_ids == step_stats.token_ids, instruction
    assert total_rounds[6] < total_rounds[0] / 2  # the point of drafting: fewer round trips


def test_exact_context_delta_speculative_equals_step_by_step(edge: EdgeModel, cloud: CloudProcess,
                                                             tmp_path: Path) -> None:
    """The edge's without-notes pass reads in fixed calls too: the delta rule stays exact."""
    for instruction in PROMPTS[:3]:
        step = decode(edge, cloud.address, instruction, tmp_path, rule="delta", max_tokens=24, draft=0)[1]
        spec = decode(edge, cloud.address, instruction, tmp_path, rule="delta", max_tokens=24, draft=6)[1]
        assert spec.token_ids == step.token_ids, instruction
        assert spec.asked > 0 and spec.round_trips < step.round_trips


def test_selective_at_confidence_zero_is_the_edge_alone(edge: EdgeModel, cloud: CloudProcess, tmp_path: Path) -> None:
    """The edge is sure of every token: no round trip after the open, and the edge's own answer."""
    for instruction in PROMPTS[:3]:
        _, alone, _ = decode(edge, None, instruction, tmp_path, max_tokens=24, mode="selective")
        _, sure, _ = decode(edge, cloud.address, instruction, tmp_path, rule="delta", max_tokens=24,
                            mode="selective", confidence=0.0)
        assert sure.token_ids == alone.token_ids and sure.asked == 0 and sure.round_trips == 0


def test_selective_asks_the_cloud_only_where_the_edge_is_unsure(edge: EdgeModel, cloud: CloudProcess,
                                                                  tmp_path: Path) -> None:
    asked = tokens = selective_trips = exact_trips = 0
    for instruction in PROMPTS[:3]:
        _, sel, _ = decode(edge, cloud.address, instruction, tmp_path, rule="delta", max_tokens=32,
                           mode="selective", confidence=0.6, draft=4)
        _, ex, _ = decode(edge, cloud.address, instruction, tmp_path, rule="delta", max_tokens=32, draft=4)
        assert sel.asked + sel.confident + sel.edge_alone >= sel.tokens > 0
        asked, tokens = asked + sel.asked, tokens + sel.tokens
        selective_trips, exact_trips = selective_trips + sel.round_trips, exact_trips + ex.round_trips
    assert 0 < asked < tokens and selective_trips < exact_trips


def test_sampling_uses_acceptance_and_is_reproducible(edge: EdgeModel, cloud: CloudProcess, tmp_path: Path) -> None:
    runs = [decode(edge, cloud.address, PROMPTS[1], tmp_path, max_tokens=20, draft=4, temperature=0.8, seed=7)
            for _ in range(2)]
    (text_a, stats_a, _), (text_b, stats_b, _) = runs
    assert text_a.strip() and stats_a.token_ids == stats_b.token_ids
    assert 0 < stats_a.drafted and 0 <= stats_a.accepted <= stats_a.drafted


def test_private_name_is_decoded_on_the_edge_and_never_sent(edge, cloud, tmp_path: Path) -> None:
    text, stats, wire = decode(edge, cloud.address, "Write one line greeting Priya Raman by name.", tmp_path,
                               max_tokens=24, draft=4)
    entries = AuditLog(tmp_path / "audit.jsonl").entries()
    assert entries and all(b"Priya" not in e.payload and b"Raman" not in e.payload for e in entries)
    if "Priya" in text:  # the edge wrote the name: those tokens were decoded alone
        assert stats.edge_alone >= 1


def make_agent(edge: EdgeModel, address: str) -> EdgeAgent:
    config = load_config(environ={})
    config.cloud.address = address
    config.cloud.sketch_max_tokens = 24
    return EdgeAgent(config, edge_model=edge)


def test_fuse_strategy_end_to_end(edge: EdgeModel, cloud: CloudProcess) -> None:
    answer = make_agent(edge, cloud.address).ask(AskRequest(PROMPTS[0], NOTES, "fuse", max_tokens=16))
    assert answer.text().strip()
    report = answer.report
    assert report.answered_by == "edge+cloud" and report.fuse is not None and report.fuse.round_trips >= 1
    assert set(report.wire.rpcs) == {"Fuse"} and "round trips" in report.summary()


def test_vocabulary_mismatch_falls_back_to_sketch(smol_path: Path, edge_path: Path) -> None:
    """A Qwen cloud and a SmolLM2 edge share no vocabulary: FAILED_PRECONDITION, then sketch."""
    env = dict(os.environ, TANDEM_SERVER_N_CTX="1024", TANDEM_SERVER_N_THREADS="1")
    edge = EdgeModel(smol_path, n_ctx=2048, n_threads=1)
    try:
        with CloudProcess(model=str(edge_path), env=env) as qwen_cloud:
            answer = make_agent(edge, qwen_cloud.address).ask(AskRequest(PROMPTS[2], NOTES, "fuse", max_tokens=8))
            assert answer.text().strip()
    finally:
        edge.close()
    assert "vocabulary mismatch" in answer.report.fallback and "sketch" in answer.report.fallback
    assert answer.report.wire.rpcs == ["Fuse", "Sketch"]


def test_cloud_refusing_mid_answer_the_edge_finishes_and_says_so(edge: EdgeModel, smol_path: Path) -> None:
    """A cloud whose context fills up refuses the next step (INVALID_ARGUMENT): the answer goes on."""
    env = dict(os.environ, TANDEM_SERVER_N_CTX="256", TANDEM_SERVER_N_THREADS="1")  # the smallest it takes
    # a long instruction fills most of the cloud's 256 tokens before the answer starts
    instruction = PROMPTS[3] + " Say what to bring for sun, for rain, for a long walk, for the evening and for sleep."
    instruction += " Keep every item short and useful, and group them under short headings." * 6
    with CloudProcess(model=str(smol_path), env=env) as small:
        config = load_config(environ={})
        config.cloud.address = small.address
        config.fuse.mode, config.fuse.rule = "exact", "fixed"
        answer = EdgeAgent(config, edge_model=edge).ask(AskRequest(instruction, NOTES, "fuse", max_tokens=120))
        text = answer.text()
    report = answer.report
    assert "context holds" in report.fuse.cloud_lost and "the edge finished alone" in report.fallback
    assert report.fuse.tokens > 100 - 60 and text.strip()  # well past what the cloud's context could hold


def test_cloud_lost_mid_answer_the_edge_finishes(edge: EdgeModel, smol_path: Path, tmp_path: Path) -> None:
    env = dict(os.environ, TANDEM_SERVER_N_CTX="2048", TANDEM_SERVER_N_THREADS="1")
    doomed = CloudProcess(model=str(smol_path), env=env).start()
    try:
        guard = PrivacyGuard(NOTES.lines)
        client = CloudClient(doomed.address, AuditLog(tmp_path / "audit.jsonl"), guard, timeout_s=30)
        channel = client.fuse(edge.detokenize)
        first = channel.open(PROMPTS[1], prompts.CLOUD_PUBLIC_SYSTEM, edge.vocab_fingerprint, 20)
        decoder = FusedDecoder(edge.llm, edge.chat_tokens(prompts.edge_messages(PROMPTS[1], NOTES)), channel,
                               make_rule("fixed"), SpanWatcher(guard), FuseSettings(max_tokens=40, draft=2))
        pieces = []
        for piece in decoder.run(first):
            pieces.append(piece)
            if len(pieces) == 2:
                doomed.proc.kill()  # the cloud disappears mid-answer
        client.close()
    finally:
        doomed.stop()
    assert decoder.stats.cloud_lost and decoder.stats.edge_alone > 0
    assert decoder.stats.tokens > 2 and len(pieces) > 2  # it went on after the cloud was gone

"""Answers that repeat private notes go through the real door whole, and nothing private crosses.

The notes are like the ones that cut fused answers off before: a diagnosis in a "name: value"
line, a phone number and a street address that the answer repeats. The answer is a script
(the tokens a fused decoder would commit); it is replayed as the decoder sends it: held tokens
by the edge alone, released ones as appends, the next few public tokens as drafts, through the
real `FuseChannel` (the door's check) to a real cloud process whose capture records every
byte. The decoder's own model choices are not under test here; its sending is.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.leaks import find_leaks
from cloud_service.capture import read_capture
from edge_agent.cloud_client import CloudClient, PrivacyViolation
from edge_agent.cloud_process import CloudProcess
from edge_agent.fusion.spans import SpanWatcher
from edge_agent.fusion.uplink import Uplink
from edge_agent.privacy import AuditLog, CopyDetector, PrivacyGuard
from edge_agent.strategies import prompts
from runtime.llm import load_llama, vocab_fingerprint

NOTES = [
    "Name: Lena Brandt",
    "Biscuit: 14-year-old cat with hyperthyroidism",
    "Medication: methimazole 2.5 mg twice a day",
    "Phone: 0176 5550 2231",
    "Address: 22 Mercer Street, Apt 4B",
]
INSTRUCTION = "Write a note to my pet sitter about Biscuit's care this weekend."
ANSWERS = [
    "Hi Sam,\n\nThanks for looking after Biscuit! Biscuit is a 14-year-old cat with hyperthyroidism, so please "
    "give her the methimazole 2.5 mg twice a day with food. The flat is at 22 Mercer Street, Apt 4B. If anything "
    "comes up, call me on 0176 5550 2231.\n\nThanks,\nLena",
    "Biscuit: 14-year-old cat with hyperthyroidism. She may also have diabetes, so watch her water bowl.",
]
SECRETS = ["hyperthyroidism", "methimazole", "0176 5550 2231", "22 Mercer Street", "Lena Brandt", "diabetes"]


@pytest.fixture(scope="module")
def cloud(smol_path: Path, tmp_path_factory: pytest.TempPathFactory):
    capture = tmp_path_factory.mktemp("capture") / "received.jsonl"
    env = dict(os.environ, TANDEM_SERVER_CAPTURE_FILE=str(capture), TANDEM_SERVER_N_CTX="2048",
               TANDEM_SERVER_N_THREADS="1")
    with CloudProcess(model=str(smol_path), env=env) as process:
        yield process, capture


@pytest.fixture(scope="module")
def vocab(smol_path: Path):
    return load_llama(smol_path, n_ctx=64)


def replay(answer: str, vocab, address: str, tmp_path: Path, drafts_per_round: int = 4) -> Uplink:
    """Send `answer` up a Fuse session as the fused decoder does; the uplink, for its figures."""
    guard = PrivacyGuard(NOTES)
    client = CloudClient(address, AuditLog(tmp_path / "audit.jsonl"), guard)
    detokenize = lambda ids: vocab.detokenize(ids).decode("utf-8", "replace")  # noqa: E731
    channel = client.fuse(detokenize)
    channel.open(INSTRUCTION, prompts.CLOUD_PUBLIC_SYSTEM, _fingerprint(vocab), 5)
    watcher = SpanWatcher(guard, CopyDetector(NOTES, INSTRUCTION))
    uplink = Uplink(channel, guard, detokenize)
    tokens = vocab.tokenize(answer.encode("utf-8"), add_bos=False, special=False)
    pieces = [detokenize([t]) for t in tokens]

    def continues(i: int) -> bool:  # the edge's next token goes on with the word (here: the script's)
        return i + 1 < len(pieces) and pieces[i + 1][:1].isalnum()

    i = 0
    while i < len(tokens) and uplink.open:
        if not watcher.holding:
            drafts, text = [], watcher.text
            while len(drafts) < drafts_per_round and i + len(drafts) < len(tokens):
                j = i + len(drafts)
                if watcher.would_hold(pieces[j], after=text, continues=continues(j)):
                    break
                drafts.append(tokens[j])
                text += pieces[j]
            if drafts:
                rows = uplink.step(drafts)
                if rows is None:
                    break
                for _ in range(len(rows) - 1):  # the script accepts every draft the cloud scored
                    assert watcher.commit(tokens[i], pieces[i], continues(i))[0].tokens == [tokens[i]]
                    i += 1
                uplink.keep = len(rows) - 1
                continue
        uplink.queue(watcher.commit(tokens[i], pieces[i], continues(i)))
        i += 1
    if uplink.open and uplink.pending:
        uplink.step([])
    client.close()
    assert i == len(tokens), f"the answer was cut off after {i} of {len(tokens)} tokens: {uplink.lost}"
    return uplink


def _fingerprint(vocab) -> str:
    return vocab_fingerprint(vocab)


@pytest.mark.parametrize("answer", ANSWERS)
def test_answers_repeating_the_notes_go_through_whole_and_leak_nothing(answer: str, cloud, vocab,
                                                                        tmp_path: Path) -> None:
    process, capture = cloud
    before = len(read_capture(capture))
    uplink = replay(answer, vocab, process.address, tmp_path)
    assert not uplink.lost and uplink.round_trips >= 2
    received = read_capture(capture)[before:]
    tokenize = lambda text: vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False)  # noqa: E731
    assert find_leaks(received, [s for s in SECRETS if s in answer], tokenize) == []


def test_the_door_refuses_those_answers_sent_as_plain_ids(cloud, vocab, tmp_path: Path) -> None:
    """Control: without the watcher the same answer is refused by the door (what cut answers off)."""
    process, _ = cloud
    guard = PrivacyGuard(NOTES)
    client = CloudClient(process.address, AuditLog(tmp_path / "audit.jsonl"), guard)
    channel = client.fuse(lambda ids: vocab.detokenize(ids).decode("utf-8", "replace"))
    channel.open(INSTRUCTION, prompts.CLOUD_PUBLIC_SYSTEM, _fingerprint(vocab), 5)
    ids = vocab.tokenize(ANSWERS[1].encode("utf-8"), add_bos=False, special=False)
    with pytest.raises(PrivacyViolation, match="private span"):
        channel.step(0, [], ids[:24])
    channel.close()
    client.close()

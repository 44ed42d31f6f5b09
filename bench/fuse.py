"""`tandem bench fuse`: fused vs cloud-only vs edge-only, with the cloud in its own process.

Prints, per mode, tokens/s, round trips per generated token, upload and download bytes
per generated token and the draft acceptance rate, summed over the prompts. The
CoGenesis row is computed, not run: the upload their released code would need (the
whole prefix re-sent every token, one round trip per token) for the same answers.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from edge_agent.cloud_client import CloudClient
from edge_agent.cloud_process import CloudProcess
from edge_agent.context import PrivateContext
from edge_agent.fusion import FusedDecoder, FuseSettings
from edge_agent.fusion.rules import FusionRule
from edge_agent.fusion.spans import SpanWatcher
from edge_agent.local_model import EdgeModel
from edge_agent.privacy import AuditLog, PrivacyGuard
from edge_agent.strategies import prompts
from runtime.decode import DecodeResult
from runtime.models import resolve_model

NOTES = PrivateContext(
    "Name: Dana Whitfield\nSister: Maya, lives in Portland\nDentist appointment on March 14 at 3:30 pm\n"
    "Book club meets Thursdays at 7 pm at the library\nAllergic to peanuts"
)
PROMPTS = [
    "Write a short text to my sister about my dentist appointment.",
    "List three tips for sleeping well.",
    "Write a two-sentence reminder about my book club.",
    "Give me a packing list for a weekend trip.",
    "Explain what a dentist does in two sentences.",
    "Write a thank-you note to a neighbour who fed my cat.",
    "Suggest three snacks I can bring to a party.",
    "Write a short message asking a friend to lunch on Friday.",
    "Describe autumn in three sentences.",
    "Write a polite email declining a meeting invitation.",
]


@dataclass
class ModeFigures:
    tokens: int = 0
    seconds: float = 0.0
    round_trips: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    drafted: int = 0
    accepted: int = 0

    def row(self, name: str) -> str:
        n = max(self.tokens, 1)
        acceptance = f"{self.accepted / self.drafted:.0%}" if self.drafted else "-"
        return (f"{name:<24}{self.tokens:>7}{self.tokens / self.seconds if self.seconds else 0:>9.1f}"
                f"{self.round_trips / n:>10.3f}{self.bytes_up / n:>10.1f}{self.bytes_down / n:>11.1f}{acceptance:>11}")


HEADER = f"{'mode':<24}{'tokens':>7}{'tok/s':>9}{'RT/token':>10}{'up B/tok':>10}{'down B/tok':>11}{'accepted':>11}"


def _client(address: str, guard: PrivacyGuard, audit: AuditLog) -> CloudClient:
    return CloudClient(address, audit, guard, timeout_s=600)


def run_fused(edge: EdgeModel, address: str, audit: AuditLog, max_tokens: int, draft: int, rule: FusionRule) -> tuple[ModeFigures, int]:
    figures, cogenesis_up = ModeFigures(), 0
    for instruction in PROMPTS:
        guard = PrivacyGuard(NOTES.lines)
        client = _client(address, guard, audit)
        channel = client.fuse(edge.detokenize, max_tokens)
        started = time.perf_counter()
        first = channel.open(instruction, prompts.CLOUD_PUBLIC_SYSTEM, edge.vocab_fingerprint, 20)
        decoder = FusedDecoder(edge.llm, edge.chat_tokens(prompts.edge_messages(instruction, NOTES)), channel,
                               rule, SpanWatcher(guard), FuseSettings(max_tokens=max_tokens, draft=draft))
        for _ in decoder.run(first):
            pass
        figures.seconds += time.perf_counter() - started
        stats = decoder.stats
        figures.tokens += stats.tokens
        figures.round_trips += stats.round_trips + 1  # + the open
        figures.drafted += stats.drafted
        figures.accepted += stats.accepted
        figures.bytes_up += client.stats.bytes_up
        figures.bytes_down += client.stats.bytes_down
        client.close()
        # CoGenesis: every token re-sends the prompt and the whole prefix (ids as varints, ~3 bytes).
        prompt_len = len(edge.chat_tokens(prompts.edge_messages(instruction, PrivateContext())))
        cogenesis_up += sum(3 * (prompt_len + i) + 8 for i in range(stats.tokens))
    return figures, cogenesis_up


def run_cloud_only(address: str, audit: AuditLog, max_tokens: int) -> ModeFigures:
    figures = ModeFigures()
    for instruction in PROMPTS:
        client = _client(address, PrivacyGuard(NOTES.lines), audit)
        started = time.perf_counter()
        text = "".join(client.generate(instruction, system=prompts.CLOUD_PUBLIC_SYSTEM, max_tokens=max_tokens))
        figures.seconds += time.perf_counter() - started
        figures.round_trips += 1
        figures.bytes_up += client.stats.bytes_up
        figures.bytes_down += client.stats.bytes_down
        assert text and client.last_completion_tokens, "the cloud answered nothing"
        figures.tokens += client.last_completion_tokens
        client.close()
    return figures


def run_edge_only(edge: EdgeModel, max_tokens: int) -> ModeFigures:
    figures = ModeFigures()
    for instruction in PROMPTS:
        result = DecodeResult()
        started = time.perf_counter()
        for _ in edge.stream_chat(prompts.edge_messages(instruction, NOTES), max_tokens=max_tokens, result=result):
            pass
        figures.seconds += time.perf_counter() - started
        figures.tokens += result.completion_tokens
    return figures


def run(edge_model: str, cloud_model: str, max_tokens: int, draft: int, rule: FusionRule, pin: bool) -> str:
    """Run all modes; return the printed table. `pin`: edge on core 0, cloud on core 1."""
    edge_threads = 1 if pin else 0
    env = dict(os.environ, TANDEM_SERVER_N_CTX="4096")
    if pin:
        env["TANDEM_SERVER_N_THREADS"] = "1"
        os.sched_setaffinity(0, {0})
    lines = []
    with tempfile.TemporaryDirectory() as tmp, \
            CloudProcess(model=cloud_model, env=env, cpu_list="1" if pin else None) as cloud:
        audit = AuditLog(Path(tmp) / "audit.jsonl")
        edge = EdgeModel(resolve_model(edge_model), n_ctx=4096, n_threads=edge_threads)
        fused, cogenesis_up = run_fused(edge, cloud.address, audit, max_tokens, draft, rule)
        step, _ = run_fused(edge, cloud.address, audit, max_tokens, 0, rule)
        cloud_only = run_cloud_only(cloud.address, audit, max_tokens)
        edge_only = run_edge_only(edge, max_tokens)
        edge.close()
    lines.append(HEADER)
    lines.append(fused.row(f"fused (draft {draft})"))
    lines.append(step.row("fused step-by-step"))
    lines.append(cloud_only.row("cloud only"))
    lines.append(edge_only.row("edge only"))
    lines.append(f"{'CoGenesis (computed)':<24}{fused.tokens:>7}{'':>9}{1.0:>10.3f}{cogenesis_up / max(fused.tokens, 1):>10.1f}")
    if cloud_only.seconds and fused.seconds:
        ratio = (fused.tokens / fused.seconds) / (cloud_only.tokens / cloud_only.seconds)
        lines.append(f"\nfused / cloud-only throughput: {ratio:.2f}x "
                     f"({'edge and cloud pinned to separate cores' if pin else 'both processes share the cores'})")
    return "\n".join(lines)

"""`tandem bench fuse`: every fusion rule and mode against the cloud alone and the edge alone, in one run.

Every answer goes through the edge agent, as `tandem ask` makes it, with the cloud in its own
process over loopback gRPC. Per row, summed over the prompts: tokens (the edge tokenizer's count
of the answer), tokens/s and its ratio to the cloud alone's in the same run, round trips per
token (every Fuse message with an answer, the open included; "waited" counts only those the
decoder stopped for), upload and download bytes per token, the share of tokens the cloud was
asked about and the draft acceptance rate. The CoGenesis row is computed, not run: the upload
their released code would need (the whole prefix re-sent every token) for the first row's answers.
"""

from __future__ import annotations

import copy
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edge_agent.agent import EdgeAgent
from edge_agent.cloud_process import CloudProcess
from edge_agent.config import FUSE_MODES, Config
from edge_agent.context import PrivateContext
from edge_agent.local_model import EdgeModel
from edge_agent.privacy import AuditLog
from edge_agent.strategies import AskRequest, prompts
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
RULES_WITHOUT_SETUP = ("fixed", "entropy", "delta")  # gate needs a trained file, proxy a base model


@dataclass
class ModeFigures:
    name: str
    tokens: int = 0
    seconds: float = 0.0
    round_trips: int = 0
    waited: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    asked: int = 0
    drafted: int = 0
    accepted: int = 0
    fallbacks: int = 0
    fused: bool = False

    @property
    def tok_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    def row(self, cloud_tok_s: float) -> str:
        n = max(self.tokens, 1)
        ratio = f"{self.tok_s / cloud_tok_s:.2f}x" if cloud_tok_s else "-"
        fused = self.fused
        return (f"| {self.name} | {self.tokens} | {self.tok_s:.1f} | {ratio} | "
                f"{self.round_trips / n:.3f} | {self.waited / n if fused else self.round_trips / n:.3f} | "
                f"{self.bytes_up / n:.1f} | {self.bytes_down / n:.1f} | "
                f"{f'{self.asked / n:.0%}' if fused else '-'} | "
                f"{f'{self.accepted / self.drafted:.0%}' if self.drafted else '-'} | {self.fallbacks} |")


HEADER = ("| mode | tokens | tok/s | x cloud | RT/token | waited RT/token | up B/token | down B/token | asked | "
          "accepted | fallbacks |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def _agent(config: Config, edge: EdgeModel, address: str, audit: AuditLog, rule: str = "", mode: str = "") -> EdgeAgent:
    config = copy.deepcopy(config)
    config.cloud.address = address
    config.cloud.timeout_s = max(config.cloud.timeout_s, 600.0)  # a loaded box is slow, not down
    config.quality.score = config.quality.verify = False
    if rule:
        config.fuse.rule, config.fuse.mode = rule, mode
    return EdgeAgent(config, edge_model=edge, audit=audit)


def run_mode(agent: EdgeAgent, strategy: str, name: str, max_tokens: int, tokenize) -> tuple[ModeFigures, list[int]]:
    """All prompts with one strategy; the figures and each answer's token count."""
    figures, lengths = ModeFigures(name, fused=strategy == "fuse"), []
    for instruction in PROMPTS:
        started = time.perf_counter()
        answer = agent.ask(AskRequest(instruction, NOTES, strategy, max_tokens=max_tokens))
        text = answer.text()
        figures.seconds += time.perf_counter() - started
        report = answer.report
        lengths.append(len(tokenize(text)))
        figures.tokens += lengths[-1]
        figures.bytes_up += report.wire.bytes_up
        figures.bytes_down += report.wire.bytes_down
        figures.fallbacks += bool(report.fallback)
        if report.fuse is not None:
            figures.round_trips += report.fuse.round_trips + 1  # + the open
            figures.waited += report.fuse.waited + 1
            figures.asked += report.fuse.asked
            figures.drafted += report.fuse.drafted
            figures.accepted += report.fuse.accepted
        else:
            figures.round_trips += len(report.wire.rpcs)
    return figures, lengths


def cogenesis_upload(edge: EdgeModel, lengths: Sequence[int]) -> int:
    """Bytes up if every token re-sent the prompt and the whole prefix (ids as ~3-byte varints)."""
    total = 0
    for instruction, n in zip(PROMPTS, lengths):
        prompt_len = len(edge.chat_tokens(prompts.edge_messages(instruction, PrivateContext())))
        total += sum(3 * (prompt_len + i) + 8 for i in range(n))
    return total


def run(edge_model: str, cloud_model: str, max_tokens: int, config: Config, pin: bool,
        rules: Sequence[str] = (), modes: Sequence[str] = FUSE_MODES) -> str:
    """Run every (rule, mode), the cloud alone and the edge alone; return the printed table.

    `rules` default to the configured rule and the fixed rule. `pin`: edge on core 0, cloud on core 1.
    """
    rules = list(dict.fromkeys(rules or (config.fuse.rule, "fixed")))
    env = dict(os.environ, TANDEM_SERVER_N_CTX="4096")
    if pin:
        env["TANDEM_SERVER_N_THREADS"] = "1"
        os.sched_setaffinity(0, {0})
    rows: list[ModeFigures] = []
    with tempfile.TemporaryDirectory() as tmp, \
            CloudProcess(model=cloud_model, env=env, cpu_list="1" if pin else None) as cloud:
        audit = AuditLog(Path(tmp) / "audit.jsonl")
        edge = EdgeModel(resolve_model(edge_model), n_ctx=4096, n_threads=1 if pin else config.edge.n_threads)
        tokenize = lambda text: edge.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)  # noqa: E731
        first_lengths: list[int] = []
        for rule in rules:
            for mode in modes:
                agent = _agent(config, edge, cloud.address, audit, rule, mode)
                figures, lengths = run_mode(agent, "fuse", f"fuse {rule}, {mode}", max_tokens, tokenize)
                rows.append(figures)
                first_lengths = first_lengths or lengths
        agent = _agent(config, edge, cloud.address, audit)
        cloud_only = run_mode(agent, "cloud-public", "cloud only", max_tokens, tokenize)[0]
        edge_only = run_mode(agent, "edge", "edge only", max_tokens, tokenize)[0]
        cogenesis = cogenesis_upload(edge, first_lengths)
        edge.close()
    lines = [HEADER]
    lines += [figures.row(cloud_only.tok_s) for figures in [*rows, cloud_only, edge_only]]
    n = max(rows[0].tokens, 1) if rows else 1
    lines.append(f"| CoGenesis (computed) | {rows[0].tokens if rows else 0} | | | 1.000 | 1.000 | "
                 f"{cogenesis / n:.1f} | | | | |")
    return "\n".join(lines)

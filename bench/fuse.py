"""`tandem bench fuse`: every fusion rule and mode against the cloud alone and the edge alone, in one run.

Every answer goes through the edge agent, as `tandem ask` makes it, with the cloud in its own
process over loopback gRPC. Per row: fact recall and preserved % of the same setting on the quality
bench's 30 tasks, read from the rows `tandem bench quality` stored (nothing is answered again: a
setting without stored rows shows "-"); then, summed over the prompts: tokens (the edge tokenizer's count
of the answer as shown, after `fuse.finish`), tokens/s and its ratio to the cloud alone's in the
same run; per fused token (the decoder's, before the finish) for fused rows: round trips per
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import fuse_quality
from bench.fuse_quality import QualityFigures
from bench.tasks import load_tasks
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
    fused_tokens: int = 0  # tokens the fused decoder committed (the answer less what the edge's finish changed)
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
    quality: tuple[str, str] = ("-", "-")  # fact recall and preserved % from the quality bench's rows

    @property
    def tok_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    def row(self, cloud_tok_s: float) -> str:
        # wire figures per token the wire took part in: a fused row's finish adds tokens without a round trip
        n = max(self.fused_tokens if self.fused else self.tokens, 1)
        ratio = f"{self.tok_s / cloud_tok_s:.2f}x" if cloud_tok_s else "-"
        fused = self.fused
        recall, preserved = self.quality
        return (f"| {self.name} | {recall} | {preserved} | {self.tokens} | {self.tok_s:.1f} | {ratio} | "
                f"{self.round_trips / n:.3f} | {self.waited / n if fused else self.round_trips / n:.3f} | "
                f"{self.bytes_up / n:.1f} | {self.bytes_down / n:.1f} | "
                f"{f'{self.asked / n:.0%}' if fused else '-'} | "
                f"{f'{self.accepted / self.drafted:.0%}' if self.drafted else '-'} | {self.fallbacks} |")


HEADER = ("| mode | fact recall | preserved | tokens | tok/s | x cloud | RT/token | waited RT/token | up B/token | "
          "down B/token | asked | accepted | fallbacks |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def _setting(config: Config, rule: str = "", mode: str = "", confidence: float | None = None) -> Config:
    """The configuration a row runs under: the fusion rule, mode and confidence set, quality checks off."""
    config = copy.deepcopy(config)
    config.quality.score = config.quality.verify = False
    if rule:
        config.fuse.rule, config.fuse.mode = rule, mode
    if confidence is not None:
        config.fuse.confidence = confidence
    return config


def _agent(config: Config, edge: EdgeModel, address: str, audit: AuditLog) -> EdgeAgent:
    config = copy.deepcopy(config)
    config.cloud.address = address
    config.cloud.timeout_s = max(config.cloud.timeout_s, 600.0)  # a loaded box is slow, not down
    return EdgeAgent(config, edge_model=edge, audit=audit)


def run_mode(agent: EdgeAgent, strategy: str, name: str, max_tokens: int, tokenize,
             prompts_: Sequence[str] = PROMPTS) -> tuple[ModeFigures, list[int]]:
    """The prompts with one strategy; the figures and each answer's token count."""
    figures, lengths = ModeFigures(name, fused=strategy == "fuse"), []
    for instruction in prompts_:
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
            figures.fused_tokens += report.fuse.tokens
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
        rules: Sequence[str] = (), modes: Sequence[str] = FUSE_MODES,
        quality: Callable[[str, Config], QualityFigures] | None = None, limit: int | None = None,
        progress: Callable[[str], None] = lambda line: None, confidences: Sequence[float] = ()) -> str:
    """Run every (rule, mode), the cloud alone and the edge alone; return the printed table.

    `rules` default to the configured rule and the fixed rule. `pin`: edge on core 0, cloud on core 1.
    `quality(strategy, config)`: the quality bench's figures for a row's setting (see `quality_lookup`).
    `limit`: the first N prompts only. `progress(line)` after each row. `confidences`: selective rows
    once per `fuse.confidence` listed (default: the configured one); exact mode does not read it.
    """
    chosen = PROMPTS[:limit]
    rules = list(dict.fromkeys(rules or (config.fuse.rule, "fixed")))
    levels: list[float | None] = list(dict.fromkeys(confidences)) or [None]
    settings = [(rule, mode, level) for rule in rules for mode in modes
                for level in (levels if mode == "selective" else [None])]
    env = dict(os.environ, TANDEM_SERVER_N_CTX="4096")
    if pin:
        env["TANDEM_SERVER_N_THREADS"] = "1"
        os.sched_setaffinity(0, {0})
    rows: list[ModeFigures] = []
    rows_done: list[str] = []

    def measured(agent: EdgeAgent, strategy: str, name: str, setting: Config) -> tuple[ModeFigures, list[int]]:
        figures, lengths = run_mode(agent, strategy, name, max_tokens, tokenize, chosen)
        rows_done.append(name)
        progress(f"[{len(rows_done)}/{len(settings) + 2}] {name}: {len(chosen)} answers, "
                 f"{figures.tokens} tokens in {figures.seconds:.1f}s")
        if quality is not None:
            figures.quality = quality(strategy, setting).cells()
        return figures, lengths

    with tempfile.TemporaryDirectory() as tmp, \
            CloudProcess(model=cloud_model, env=env, cpu_list="1" if pin else None) as cloud:
        audit = AuditLog(Path(tmp) / "audit.jsonl")
        edge = EdgeModel(resolve_model(edge_model), n_ctx=4096, n_threads=1 if pin else config.edge.n_threads)
        tokenize = lambda text: edge.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)  # noqa: E731
        first_lengths: list[int] = []
        for rule, mode, level in settings:
            setting = _setting(config, rule, mode, level)
            name = f"fuse {rule}, {mode}" + (f", confidence {level:g}" if level is not None else "")
            figures, lengths = measured(_agent(setting, edge, cloud.address, audit), "fuse", name, setting)
            rows.append(figures)
            first_lengths = first_lengths or lengths
        setting = _setting(config)
        agent = _agent(setting, edge, cloud.address, audit)
        cloud_only = measured(agent, "cloud-public", "cloud only", setting)[0]
        edge_only = measured(agent, "edge", "edge only", setting)[0]
        cogenesis = cogenesis_upload(edge, first_lengths)
        edge.close()
    lines = [HEADER]
    lines += [figures.row(cloud_only.tok_s) for figures in [*rows, cloud_only, edge_only]]
    n = max(rows[0].tokens, 1) if rows else 1
    lines.append(f"| CoGenesis (computed) | | | {rows[0].tokens if rows else 0} | | | 1.000 | 1.000 | "
                 f"{cogenesis / n:.1f} | | | | |")
    return "\n".join(lines)


def quality_lookup(results_dir: Path, tasks_file: Path, edge_model: str,
                   cloud_model: str) -> Callable[[str, Config], QualityFigures]:
    """`run`'s `quality` argument: figures from the quality bench's rows in `results_dir` (models by name or path)."""
    tasks = load_tasks(tasks_file)
    edge_name, cloud_name = resolve_model(edge_model).name, resolve_model(cloud_model).name
    rows = fuse_quality.stored_rows(results_dir)  # the cache file is read once for every row of the table
    return lambda strategy, setting: fuse_quality.lookup(rows, tasks, strategy, setting, edge_name, cloud_name)

"""`tandem bench quality`: every strategy on personalized-writing tasks: quality, leaks, speed.

For each (task, strategy) the edge agent answers with the edge model in this process,
talking to `tandem cloud serve` in its own process over loopback gRPC, with the server's
request capture on. One request runs at a time, so the capture records that arrive
between its start and its end are exactly what the cloud received for it; they are
checked for the task's canaries (as text, digit runs and token ids) and compared with
the edge's audit log. Then a local judge (the cloud model's weights, in this process,
never through the service) rates the answer knowing the notes, and the Cappy scorer
scores it when its artifact is built. Once every answer is in, the pairwise judge (the same
weights) compares each strategy's answer with the opt-in baseline's (`pairwise`), and both
judges are checked against a known order (the baseline above cloud-public): one that fails
is left out of the headline table.

The opt-in baseline `cloud-with-context` runs because the bench sets
`cloud.allow_context = true` on its own copy of the configuration, and only there.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shlex
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import judge as judge_mod
from bench import pairwise, quality_pairs
from bench.answer_key import answer_setup
from bench.leaks import find_leaks
from bench.report import StrategySummary, add_preserved, summarize
from bench.results import CACHE_FILE, ResultCache, Row, RowKey, task_digest
from bench.tasks import DEFAULT_TASKS, Task, fact_recall, load_tasks
from cloud_service.capture import CapturedRequest, read_capture
from edge_agent.cloud_process import CloudProcess
from edge_agent.config import Config
from edge_agent.context import PrivateContext
from edge_agent.strategies import STRATEGIES, AskRequest
from runtime.models import ModelError, resolve_model
from runtime.models.catalog import DEFAULT_CLOUD, DEFAULT_EDGE

DEFAULT_RESULTS = Path("bench") / "results"
REPORT_FILE = "report.md"
CHART_FILE = "quality.png"
CAPTURE_SETTLE_S = 5.0  # longest wait for the cloud's capture to catch up with what the edge sent

Progress = Callable[[str], None]


class BenchError(ValueError):
    """A benchmark option is wrong; the message names it."""


@dataclass
class QualitySettings:
    tasks_file: Path = DEFAULT_TASKS
    limit: int | None = None
    strategies: tuple[str, ...] = ()  # empty = every strategy tandem has (STRATEGIES)
    results_dir: Path = DEFAULT_RESULTS
    judge: bool = True
    max_tokens: int = 256
    edge_model: str = DEFAULT_EDGE
    cloud_model: str = DEFAULT_CLOUD  # served by the cloud process, and the judge's weights
    config_file: Path | None = None  # handed to `tandem cloud serve`
    cloud_threads: int = 0  # llama.cpp threads of the cloud process and the judge (server.n_threads)

    def command(self) -> str:
        """The `tandem bench quality ...` line that reproduces these settings."""
        parts = ["tandem", "bench", "quality"]
        if Path(self.tasks_file).resolve() != DEFAULT_TASKS:
            parts += ["--tasks", str(self.tasks_file)]
        if self.limit is not None:
            parts += ["--limit", str(self.limit)]
        if self.strategies:
            parts += ["--strategies", ",".join(self.strategies)]
        if Path(self.results_dir) != DEFAULT_RESULTS:
            parts += ["--results", str(self.results_dir)]
        if not self.judge:
            parts.append("--no-judge")
        parts += ["--max-tokens", str(self.max_tokens)]
        if self.edge_model != DEFAULT_EDGE:
            parts += ["--edge-model", self.edge_model]
        if self.cloud_model != DEFAULT_CLOUD:
            parts += ["--cloud-model", self.cloud_model]
        return shlex.join(parts)


@dataclass
class QualityOutcome:
    rows: list[Row]
    summaries: list[StrategySummary]
    strategies: list[str]
    tasks: list[Task]
    generated: int = 0  # answers made in this run
    judged: int = 0  # judgements made in this run
    pair_judged: int = 0  # pairwise verdicts made in this run
    agreements: list[pairwise.Agreement] = field(default_factory=list)  # the judges' checks; pairwise first
    scored: int = 0
    cached: int = 0  # answers taken from the cache
    with_scorer: bool = False
    threads: str = ""  # llama.cpp threads of the edge/judge and the cloud (timings depend on them)
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def select_strategies(requested: Sequence[str]) -> list[str]:
    """The strategies to run: those asked for (validated), else every one in STRATEGIES."""
    if not requested:
        return list(STRATEGIES)
    unknown = [s for s in requested if s not in STRATEGIES]
    if unknown:
        raise BenchError(f"--strategies: unknown strategy {', '.join(map(repr, unknown))} (known: {', '.join(STRATEGIES)})")
    return list(dict.fromkeys(requested))


def _load_scorer(notes: list[str]):
    """The Cappy scorer if its module and artifact exist, else None (the column is left out)."""
    try:
        from edge_agent.scoring.scorer import Scorer
    except ImportError:
        notes.append("scorer: not available (edge_agent.scoring.scorer is missing); column left out")
        return None
    try:
        return Scorer.load()
    except (ModelError, OSError) as exc:
        notes.append(f"scorer: not available ({exc}); column left out")
        return None


def _scorer_version(scorer) -> str:
    return scorer.info.sha256[:12]


def _bench_config(config: Config, edge_path: Path, address: str, audit_file: Path) -> Config:
    """A copy of the user's configuration for the bench: the opt-in baseline allowed, here only."""
    bench = copy.deepcopy(config)
    bench.edge.model = str(edge_path)
    bench.cloud.address = address
    bench.cloud.allow_context = True  # the bench's own copy: lets cloud-with-context run as the baseline
    bench.cloud.timeout_s = max(config.cloud.timeout_s, 300.0)  # a loaded 2-core box is slow, not down
    bench.privacy.audit_log = str(audit_file)  # keep the bench's traffic out of the user's audit log
    return bench


def _received_since(capture: Path, before: int, expected: int) -> list[CapturedRequest]:
    """Capture records after `before`, waiting briefly until at least `expected` have arrived."""
    deadline = time.monotonic() + CAPTURE_SETTLE_S
    while True:
        received = read_capture(capture)[before:]
        if len(received) >= expected or time.monotonic() > deadline:
            return received
        time.sleep(0.05)


def answer_task(agent, task: Task, strategy: str, key: RowKey, capture: Path,
                tokenize: Callable[[str], list[int]]) -> Row:
    """Run one strategy on one task and measure it (everything but the judge and the scorer)."""
    row = Row(key=key)
    before = len(read_capture(capture))
    request = AskRequest(task.instruction, PrivateContext(task.private_context), strategy, max_tokens=key.max_tokens)
    answer = agent.ask(request)
    pieces = 0
    try:
        for _ in answer:
            pieces += 1
    except Exception as exc:  # a failing strategy is a result to report, not the end of the run
        row.error = f"{type(exc).__name__}: {exc}"
    row.answer = answer.report.text
    report = answer.report
    audited = [e.payload for e in agent.audit.entries(request_id=report.request_id)]
    received = _received_since(capture, before, len(audited))
    leaks = find_leaks(received, task.canaries, tokenize)
    row.leaked = sorted({leak.canary for leak in leaks})
    row.leak_hits = len(leaks)
    row.received = len(received)
    row.capture_matches_audit = [r.payload for r in received] == audited
    row.fact_recall = fact_recall(row.answer, task.required_facts)
    row.first_text_s, row.total_s = report.first_text_s, report.total_s or 0.0
    row.tokens = len(tokenize(row.answer)) if row.answer else 0
    streamed = pieces > 1  # an answer that arrives in one piece (best-of) has no decode speed to show
    if streamed and row.tokens > 1 and row.first_text_s is not None and row.total_s > row.first_text_s:
        row.tok_s = (row.tokens - 1) / (row.total_s - row.first_text_s)
    row.bytes_up, row.bytes_down, row.rpcs = report.wire.bytes_up, report.wire.bytes_down, len(report.wire.rpcs)
    row.answered_by, row.fallback, row.context_sent = report.answered_by, report.fallback, report.context_sent
    return row


def _fmt_duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def run_quality(settings: QualitySettings, config: Config, progress: Progress = lambda line: None) -> QualityOutcome:
    """Answer, measure, judge and score every (task, strategy); reuse cached rows; return them."""
    started = time.perf_counter()
    if settings.max_tokens <= 0:
        raise BenchError(f"--max-tokens must be a positive number, got {settings.max_tokens}")
    strategies = select_strategies(settings.strategies)
    if not Path(settings.tasks_file).is_file():
        raise BenchError(f"--tasks: the task file {settings.tasks_file} does not exist")
    tasks = load_tasks(settings.tasks_file, settings.limit)
    edge_path, cloud_path = resolve_model(settings.edge_model), resolve_model(settings.cloud_model)
    cache = ResultCache(Path(settings.results_dir) / CACHE_FILE)
    outcome = QualityOutcome(rows=[], summaries=[], strategies=strategies, tasks=tasks)
    scorer = _load_scorer(outcome.notes)
    outcome.with_scorer = scorer is not None
    outcome.threads = (f"edge {config.edge.n_threads or 'all cores'}, cloud and judge "
                       f"{settings.cloud_threads or 'all cores'} (edge.n_threads, server.n_threads)")

    work = [(task, strategy, RowKey(task.id, task_digest(task), strategy, edge_path.name, cloud_path.name,
                                    settings.max_tokens, answer_setup(strategy, config, task.instruction,
                                                                      PrivateContext(task.private_context))))
            for task in tasks for strategy in strategies]
    to_generate = sum(cache.get(key) is None for _, _, key in work)
    outcome.cached = len(work) - to_generate
    progress(f"{len(tasks)} tasks x {len(strategies)} strategies: {to_generate} to answer, "
             f"{outcome.cached} from the cache ({cache.path})")

    def pending(key: RowKey) -> bool:
        row = cache.get(key)
        return row is None or (settings.judge and not row.error and row.judge_method != judge_mod.METHOD)

    with _Resources(settings, config, edge_path, cloud_path, progress) as res:
        done_work, work_started = 0, time.perf_counter()
        for number, (task, strategy, key) in enumerate(work, start=1):
            row = cache.get(key)
            fresh = row is None
            if row is None:
                row = answer_task(res.agent(), task, strategy, key, res.capture, res.tokenize)
                outcome.generated += 1
            changed = fresh
            if settings.judge and not row.error and row.judge_method != judge_mod.METHOD:
                verdict = res.judge().judge(task.private_context, task.instruction, row.answer)
                row.judge, row.judge_mass, row.judge_probs = verdict.score, verdict.mass, list(verdict.probs)
                row.judge_method = judge_mod.METHOD
                outcome.judged += 1
                changed = True
            if scorer is not None and not row.error and row.scorer_version != _scorer_version(scorer):
                row.scorer = scorer.score_answer(task.instruction, task.private_context, row.answer)
                row.scorer_version = _scorer_version(scorer)
                outcome.scored += 1
                changed = True
            if changed:
                cache.put(row)
            outcome.rows.append(row)
            if changed:
                done_work += 1
                left = sum(pending(k) for _, _, k in work[number:])
                progress(_progress_line(number, len(work), task, strategy, row, fresh,
                                        time.perf_counter() - work_started, done_work, left))
        if settings.judge:
            outcome.pair_judged = quality_pairs.judge_pairs(res.pair_judge, outcome.rows, tasks, cache,
                                                            cloud_path.name, progress)
    outcome.summaries = summarize(outcome.rows, strategies)
    if settings.judge:
        add_preserved(outcome.summaries, pairwise.preserved_by_strategy(outcome.rows, strategies, cloud_path.name))
        outcome.agreements = [pairwise.judge_agreement(outcome.rows, cloud_path.name),
                              pairwise.rating_agreement(outcome.rows)]
    outcome.elapsed_s = time.perf_counter() - started
    return outcome


def _progress_line(number: int, total: int, task: Task, strategy: str, row: Row, fresh: bool,
                   elapsed: float, done: int, left: int) -> str:
    what = (f"recall {row.fact_recall:.2f}  judge {'-' if row.judge is None else f'{row.judge:.1f}'}  "
            f"leaks {len(row.leaked)}  {row.total_s:.1f}s" if not row.error else f"ERROR {row.error[:120]}")
    eta = f", ~{_fmt_duration(elapsed / done * left)} left" if done and left else ""
    return (f"[{number}/{total}] {task.id} / {strategy}{'' if fresh else ' (cached answer)'}: {what}"
            f"  | {_fmt_duration(elapsed)} elapsed{eta}")


class _Resources:
    """The cloud process, the edge agent and the judge, each started on first use and stopped at the end."""

    def __init__(self, settings: QualitySettings, config: Config, edge_path: Path, cloud_path: Path,
                 progress: Progress) -> None:
        self.settings, self.config = settings, config
        self.edge_path, self.cloud_path = edge_path, cloud_path
        self.progress = progress
        self._stack = contextlib.ExitStack()
        self._agent = None
        self._judge: judge_mod.Judge | None = None
        self._pair_judge: pairwise.PairwiseJudge | None = None
        self.capture = Path()

    def __enter__(self) -> _Resources:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def agent(self):
        if self._agent is None:
            from edge_agent.agent import EdgeAgent

            tmp = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="tandem-bench-")))
            self.capture = tmp / "received.jsonl"
            results = Path(self.settings.results_dir)
            results.mkdir(parents=True, exist_ok=True)
            env = dict(os.environ, TANDEM_SERVER_CAPTURE_FILE=str(self.capture))
            self.progress(f"starting the cloud ({self.cloud_path.name}) on loopback with request capture; "
                          f"log: {results / 'cloud.log'}")
            cloud = self._stack.enter_context(CloudProcess(
                model=str(self.cloud_path), config=self.settings.config_file, env=env,
                log_path=results / "cloud.log",
            ))
            bench_config = _bench_config(self.config, self.edge_path, cloud.address, tmp / "audit.jsonl")
            self.progress("cloud.allow_context = true for this run only: the opt-in baseline "
                          "cloud-with-context sends the notes to the cloud")
            agent = EdgeAgent(bench_config)
            self._stack.callback(agent.close)
            agent.load()  # load now, so the first answer's latency is not the load time
            self._agent = agent
        return self._agent

    def tokenize(self, text: str) -> list[int]:
        """The edge model's tokens (the Qwen models share one vocabulary, so they are the cloud's too)."""
        return self.agent().edge_model.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def judge(self) -> judge_mod.Judge:
        if self._judge is None:
            self.progress(f"loading the judge ({self.cloud_path.name}) in this process")
            self._judge = judge_mod.Judge(self.cloud_path, n_threads=self.settings.cloud_threads)
            self._stack.callback(self._judge.close)
        return self._judge

    def pair_judge(self) -> pairwise.PairwiseJudge:
        """The pairwise judge, on the 1-10 judge's model (the same weights, loaded once)."""
        if self._pair_judge is None:
            self._pair_judge = pairwise.PairwiseJudge(self.cloud_path, llm=self.judge().llm)
        return self._pair_judge


METHODS = """\
- **fact recall**: share of the task's required facts found in the answer (case-insensitive, whitespace collapsed).
- **preserved**: PAPILLON's "quality preserved": the share of tasks where the pairwise judge (the cloud model's
  weights, in the bench process) finds the strategy's answer at least as good as the opt-in baseline's answer to
  the same task. Method `{pair_method}`: {pair_how} A tie, or readings that contradict each other, count as preserved.
- **judge 1-10**: the cloud model's weights, loaded in the bench process as an evaluator only (never through the
  service), see the notes, the request and the answer and rate it on a 1-10 rubric. The score is read from the
  logits, not from generated text: the expected rating under the next-token distribution over "1".."10"
  ("10" is "1" then "0" for these tokenizers, so one more step splits the mass of "1"). Method `{method}`.
- **scorer**: the Cappy-style scorer's s(instruction + notes, answer) in [0, 1], when its artifact is built.
- **leaks**: distinct task canaries found in the bytes the cloud service received for the answer (server-side
  capture; text, digit runs and token ids), summed over tasks. Only the opt-in baseline may be non-zero.
- **TTFT / total**: seconds from the request to the first text / the end of the answer, in the edge process,
  cloud calls over loopback gRPC included; medians. **tok/s**: (answer tokens - 1) / (total - TTFT), median;
  n/a for a strategy that delivers its answer in one piece (best-of).
- **bytes up / down, RPCs**: what crossed the edge-cloud boundary per answer, mean: serialized message bytes,
  and messages sent (each message of a streaming call counts, so a fused answer shows one per round trip).
- **fallbacks**: answers the edge had to finish alone because a cloud call failed.
- One request at a time on {cores} cores shared with whatever else runs on the machine: latencies move with load."""


def _shown(path: Path) -> Path:
    """`path` relative to the working directory when it is under it (a report should not name the machine's paths)."""
    resolved = Path(path).resolve()
    return resolved.relative_to(Path.cwd()) if resolved.is_relative_to(Path.cwd()) else Path(path)


def write_outputs(outcome: QualityOutcome, settings: QualitySettings) -> tuple[str, Path, Path | None]:
    """The printed table, `report.md` and the PNG chart in the results folder."""
    from bench import report
    from bench.chart import ChartUnavailable, write_chart

    results = Path(settings.results_dir)
    results.mkdir(parents=True, exist_ok=True)
    show = quality_pairs.headline(outcome.agreements)
    table = report.format_table(outcome.summaries, outcome.with_scorer, **show)
    models = f"edge {settings.edge_model}, cloud and judge {settings.cloud_model}"
    chart_path: Path | None = results / CHART_FILE
    try:
        write_chart(outcome.summaries, chart_path,
                    f"tandem bench quality: {len(outcome.tasks)} tasks, {models}, max {settings.max_tokens} tokens")
    except ChartUnavailable as exc:
        outcome.notes.append(str(exc))
        chart_path = None
    lines = [
        "# tandem bench quality", "",
        f"Command: `{settings.command()}`", "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores",
        f"- models: {models}",
        f"- llama.cpp threads: {outcome.threads}",
        f"- tasks: {len(outcome.tasks)} from `{_shown(settings.tasks_file)}`; greedy decoding, max {settings.max_tokens} tokens",
        f"- this run: {outcome.generated} answers made, {outcome.cached} from the cache, {outcome.judged} judged, "
        f"{outcome.pair_judged} compared with {pairwise.BASELINE}, {_fmt_duration(outcome.elapsed_s)}",
        "", "## Results", "", report.markdown_table(outcome.summaries, outcome.with_scorer, **show), "",
    ]
    if any(s.opt_in for s in outcome.summaries):
        lines += ["\\* opt-in baseline: the bench sets `cloud.allow_context = true` for itself only; this strategy "
                  "sends the private notes to the cloud.", ""]
    lines += quality_pairs.agreement_section(outcome.agreements)
    metrics = ["fact_recall"] + [m for m, key in (("preserved", "show_preserved"), ("judge", "show_judge")) if show[key]]
    lines += ["## Targets", "", *report.target_lines(outcome.summaries, metrics), ""]
    if chart_path is not None:
        lines += ["## Chart", "", f"![quality vs. leaks vs. latency]({CHART_FILE})", ""]
    lines += ["## How it is measured", "", METHODS.format(
        method=judge_mod.METHOD, cores=os.cpu_count(), pair_method=pairwise.METHOD, pair_how=quality_pairs.PAIR_HOW), ""]
    problems = [f"- `{s.strategy}`: {s.errors} error(s): " + "; ".join(s.error_samples)
                for s in outcome.summaries if s.errors]
    problems += [f"- `{s.strategy}`: in {s.audit_mismatches} answer(s) the captured bytes differ from the audit log"
                 for s in outcome.summaries if s.audit_mismatches]
    masses = [r.judge_mass for r in outcome.rows if r.judge_mass is not None]
    if masses:
        problems.append(f"- judge: on average {sum(masses) / len(masses):.3f} of the next-token probability went to "
                        f"a rating (lowest {min(masses):.3f}); the rest is renormalized away")
    notes = problems + [f"- {n}" for n in outcome.notes]
    if notes:
        lines += ["## Notes", "", *notes, ""]
    lines += ["## Per task (fact recall / judge)", "",
              report.per_task_table(outcome.rows, outcome.strategies, [t.id for t in outcome.tasks]), ""]
    report_path = results / REPORT_FILE
    report_path.write_text("\n".join(lines), encoding="utf-8")
    return table, report_path, chart_path

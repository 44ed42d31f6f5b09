"""`tandem bench ...` subcommands (benchmarks print figures; tests never assert timings)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cloud_service.settings import load_cloud_settings
from edge_agent.commands import command
from edge_agent.config import Config


def register(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser("bench", help="benchmarks that print figures")
    kinds = bench.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    models = kinds.add_parser("models", help="load time and tokens/s of each installed model, local and as served")
    models.add_argument("--tokens", type=int, default=64, help="tokens to generate per run (default 64)")
    command(models, bench_models)
    fuse = kinds.add_parser("fuse", help="fused vs cloud-only vs edge-only over loopback gRPC (10 prompts)")
    fuse.add_argument("--edge-model", default=None, metavar="NAME|PATH", help="default: edge.model")
    fuse.add_argument("--cloud-model", default=None, metavar="NAME|PATH", help="default: server.model")
    fuse.add_argument("--max-tokens", type=_count(1), default=64, help="tokens per answer (default 64)")
    fuse.add_argument("--draft", type=int, default=None, help="draft tokens per round trip (default: fuse.draft)")
    fuse.add_argument("--rule", default=None, metavar="A,B", help="fusion rules (default: fuse.rule and fixed)")
    fuse.add_argument("--modes", default=None, metavar="A,B", help="fuse modes (default: selective,exact)")
    fuse.add_argument("--confidence", type=_fractions, default=(), metavar="X,Y",
                      help="selective rows once per fuse.confidence listed, each in 0-1 (default: fuse.confidence)")
    fuse.add_argument("--pin", action="store_true", help="edge on core 0, cloud on core 1 (taskset)")
    fuse.add_argument("--limit", type=_count(1), default=None, metavar="N", help="first N prompts (default all 10)")
    fuse.add_argument("--quality-results", metavar="DIR", default=None,
                      help="where `tandem bench quality` keeps its rows, for the fact recall and preserved columns "
                           "(default: bench/results)")
    command(fuse, bench_fuse)
    daemon = kinds.add_parser("daemon", help="the daemon's memory, idle CPU and time to first token through its socket")
    daemon.add_argument("--model", metavar="NAME|PATH", help="edge model (default: edge.model)")
    daemon.add_argument("--runs", type=int, default=3, help="answers to time (default 3)")
    daemon.add_argument("--idle", type=float, default=5.0, metavar="S", help="seconds of idle CPU to measure (default 5)")
    daemon.add_argument("--tokens", type=int, default=32, help="tokens per answer (default 32)")
    command(daemon, bench_daemon)
    scorer = kinds.add_parser("scorer", help="the answer scorer's AUC (right vs wrong answers) and latency on the benchmark tasks")
    scorer.add_argument("--tasks", type=_count(1), default=None, metavar="N", help="first N benchmark tasks (default all)")
    scorer.add_argument("--samples", type=_count(0), default=2, help="sampled edge answers per task besides the greedy one (default 2)")
    scorer.add_argument("--max-tokens", type=_count(1), default=160, help="tokens per answer (default 160)")
    scorer.add_argument("--artifact", type=Path, action="append", metavar="ONNX",
                        help="score with this graph instead of the shipped one (repeat to compare; each needs its .json)")
    command(scorer, bench_scorer)
    verifier = kinds.add_parser("verifier", help="the verifier's agreement with the required-facts check on the benchmark tasks")
    verifier.add_argument("--tasks", type=_count(1), default=None, metavar="N", help="first N benchmark tasks (default all)")
    verifier.add_argument("--max-tokens", type=_count(1), default=160, help="tokens per answer (default 160)")
    verifier.add_argument("--method", choices=["options", "questions", "both"], default="both",
                          help="verification method(s) to measure (default both)")
    command(verifier, bench_verifier)
    quality = kinds.add_parser(
        "quality", help="every strategy on personalized-writing tasks: fact recall, judge score, leaks, latency, bytes")
    quality.add_argument("--tasks", metavar="FILE", default=None, help="task file (JSONL; default: the shipped tasks)")
    quality.add_argument("--limit", type=_count(1), default=None, metavar="N", help="first N tasks (default all)")
    quality.add_argument("--strategies", metavar="A,B,...", default="",
                         help="comma-separated strategies (default: every strategy tandem has)")
    quality.add_argument("--results", metavar="DIR", default=None,
                         help="results folder: cache, report.md, quality.png (default bench/results)")
    quality.add_argument("--no-judge", action="store_true", help="skip the judge (faster; the column shows n/a)")
    quality.add_argument("--max-tokens", type=_count(1), default=None, metavar="N",
                         help="tokens per answer (default: edge.max_tokens)")
    quality.add_argument("--edge-model", metavar="NAME|PATH", help="edge model (default: edge.model)")
    quality.add_argument("--cloud-model", metavar="NAME|PATH", help="cloud model, also the judge (default: server.model)")
    command(quality, bench_quality)
    privacy = kinds.add_parser(
        "privacy", help="PUPA: the share of each real query's private details that reach the cloud, and of the "
        "other words", add_help=False)
    privacy.add_argument("args", nargs="*", help="options of bench/privacy/pupa.py (`tandem bench privacy --help`)")
    command(privacy, bench_privacy)
    load = kinds.add_parser("load", help="concurrent Generate/Sketch/Fuse clients, then SIGTERM under that load "
                            "(loopback, bounded in time)")
    load.add_argument("--model", default="smollm2-135m", metavar="NAME|PATH",
                      help="cloud model (default smollm2-135m, the fastest)")
    load.add_argument("--duration", type=_seconds, default=20.0, metavar="S",
                      help="seconds of load before the SIGTERM drain (default 20)")
    load.add_argument("--clients", type=_count(1), default=16, help="concurrent clients (default 16)")
    load.add_argument("--max-tokens", type=_count(1), default=16, help="tokens per Generate/Sketch (default 16)")
    load.add_argument("--max-sessions", type=_count(1), default=8, help="server.max_sessions of the cloud (default 8)")
    load.add_argument("--grace", type=_seconds, default=5.0, metavar="S",
                      help="server.grace_s for the SIGTERM drain (default 5)")
    load.add_argument("--threads", type=_count(0), default=1,
                      help="llama.cpp threads of the cloud (default 1: the clients need a core; 0 = all)")
    command(load, bench_load)


def bench_models(args: argparse.Namespace, config: Config) -> int:
    from bench import models

    print(f"# tandem bench models: greedy, {args.tokens} tokens, {os.cpu_count()} cores, "
          "local = in process, served = `tandem cloud serve` over loopback gRPC")
    print(models.run(args.tokens), flush=True)
    return 0


def bench_daemon(args: argparse.Namespace, config: Config) -> int:
    from bench import daemon

    model = args.model or config.edge.model
    print(f"# tandem bench daemon: {model}, {os.cpu_count()} cores, a daemon subprocess on a temporary socket "
          f"and store, greedy {args.tokens}-token answers with strategy edge", flush=True)
    print(daemon.format_figures(daemon.run(model, runs=args.runs, idle_s=args.idle, tokens=args.tokens)), flush=True)
    return 0


def _fractions(text: str) -> list[float]:
    """An argparse type: comma-separated numbers, each between 0 and 1."""
    problem = argparse.ArgumentTypeError(f"give numbers between 0 and 1 separated by commas, got {text!r}")
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise problem from None
    if not values or any(not 0 <= value <= 1 for value in values):
        raise problem
    return values


def _count(minimum: int):
    """An argparse type: an integer of at least `minimum` (argparse reports anything else in one line)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def bench_scorer(args: argparse.Namespace, config: Config) -> int:
    from bench import scorer

    print(scorer.run(limit=args.tasks, samples=args.samples, max_tokens=args.max_tokens, artifacts=args.artifact),
          flush=True)
    return 0


def bench_verifier(args: argparse.Namespace, config: Config) -> int:
    from bench import verifier

    methods = ("options", "questions") if args.method == "both" else (args.method,)
    print(verifier.run(limit=args.tasks, max_tokens=args.max_tokens, methods=methods), flush=True)
    return 0


def bench_quality(args: argparse.Namespace, config: Config) -> int:
    server = load_cloud_settings(args.config).server
    import sys
    from pathlib import Path

    from bench import quality
    from bench.tasks import DEFAULT_TASKS, TaskFileError

    settings = quality.QualitySettings(
        tasks_file=Path(args.tasks) if args.tasks else DEFAULT_TASKS,
        limit=args.limit,
        strategies=tuple(s.strip() for s in args.strategies.split(",") if s.strip()),
        results_dir=Path(args.results) if args.results else quality.DEFAULT_RESULTS,
        judge=not args.no_judge,
        max_tokens=args.max_tokens or config.edge.max_tokens,
        edge_model=args.edge_model or config.edge.model,
        cloud_model=args.cloud_model or server.model,
        config_file=Path(args.config) if args.config else None,
        cloud_threads=server.n_threads,
    )
    progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    try:
        outcome = quality.run_quality(settings, config, progress)
    except (quality.BenchError, TaskFileError) as exc:
        print(f"tandem: error: {exc}", file=sys.stderr)
        return 2
    table, report_path, chart_path = quality.write_outputs(outcome, settings)
    print(f"# {settings.command()}", flush=True)
    print(table)
    for agreement in outcome.agreements:
        print(f"judge check: {agreement.line()}")
    print(f"report: {report_path}" + (f"\nchart:  {chart_path}" if chart_path else ""), flush=True)
    for note in outcome.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def bench_fuse(args: argparse.Namespace, config: Config) -> int:
    from bench import fuse
    from bench.quality import DEFAULT_RESULTS
    from bench.tasks import DEFAULT_TASKS
    from edge_agent.config import FUSE_MODES

    server = load_cloud_settings(args.config).server
    edge, cloud = args.edge_model or config.edge.model, args.cloud_model or server.model
    if args.draft is not None:
        config.fuse.draft = args.draft
    rules = [r.strip() for r in (args.rule or "").split(",") if r.strip()]
    modes = [m.strip() for m in (args.modes or ",".join(FUSE_MODES)).split(",") if m.strip()]
    bad = [r for r in rules if r not in fuse.RULES_WITHOUT_SETUP] + [m for m in modes if m not in FUSE_MODES]
    if bad:
        print(f"tandem bench fuse: cannot run {', '.join(bad)} (rules: {', '.join(fuse.RULES_WITHOUT_SETUP)}; "
              f"modes: {', '.join(FUSE_MODES)})", file=sys.stderr)
        return 2
    results = Path(args.quality_results) if args.quality_results else DEFAULT_RESULTS
    if args.quality_results and not results.is_dir():
        print(f"tandem bench fuse: --quality-results: {results} is not a directory", file=sys.stderr)
        return 2
    f = config.fuse
    print(f"# tandem bench fuse: edge {edge}, cloud {cloud} (separate process, loopback gRPC), "
          f"{len(fuse.PROMPTS[:args.limit])} prompts x {args.max_tokens} tokens, greedy; fuse.draft {f.draft}, confidence "
          f"{','.join(f'{c:g}' for c in args.confidence) or f.confidence}, ahead {f.ahead}, alpha {f.alpha}, cloud_weight {f.cloud_weight}, finish {str(f.finish).lower()}; "
          f"{os.cpu_count()} cores, "
          f"edge threads {config.edge.n_threads or 'all'}, cloud threads {server.n_threads or 'all'}",
          flush=True)
    quality = fuse.quality_lookup(results, DEFAULT_TASKS, edge, cloud)
    table = fuse.run(edge, cloud, args.max_tokens, config, args.pin, rules, modes, quality, args.limit,
                     progress=lambda line: print(line, file=sys.stderr, flush=True), confidences=args.confidence)
    print(table, flush=True)
    print(f"fact recall, preserved: the same setting in `tandem bench quality` ({results}; all "
          f"{DEFAULT_TASKS.name} tasks unless (n/N) says fewer). \"-\": no stored answers for that setting; "
          "to add them: TANDEM_FUSE_RULE=<rule> TANDEM_FUSE_MODE=<mode> tandem bench quality --strategies fuse",
          flush=True)
    return 0


def _seconds(text: str) -> float:
    from bench.load import seconds_arg

    return seconds_arg(text)


def bench_privacy(args: argparse.Namespace, config: Config) -> int:
    from bench.privacy import pupa

    return pupa.main(args.args)


def bench_load(args: argparse.Namespace, config: Config) -> int:
    """Load, then SIGTERM under load, against a cloud in a child process; exit 1 if something misbehaved."""
    import sys

    from bench import load
    from bench.load_report import format_report
    from edge_agent.cloud_process import CloudStartError

    settings = load.LoadSettings(model=args.model, duration_s=args.duration, clients=args.clients,
                                 max_tokens=args.max_tokens, max_sessions=args.max_sessions, grace_s=args.grace,
                                 n_threads=args.threads)
    print(f"# tandem bench load: cloud {settings.model} in its own process on loopback "
          f"({settings.n_threads or 'all'} llama.cpp thread(s)), {settings.clients} clients, "
          f"{settings.duration_s:g} s of load, {os.cpu_count()} cores", flush=True)
    try:
        report = load.run(settings, lambda line: print(line, file=sys.stderr, flush=True))
    except CloudStartError as exc:
        print(f"tandem: error: {exc}", file=sys.stderr)
        return 1
    print(format_report(report), flush=True)
    return 1 if report.unexpected else 0

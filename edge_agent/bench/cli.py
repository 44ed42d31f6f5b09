"""`tandem bench ...` subcommands (benchmarks print figures; tests never assert timings)."""

from __future__ import annotations

import argparse
import os

from edge_agent.config import Config


def register(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser("bench", help="benchmarks that print figures")
    kinds = bench.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    models = kinds.add_parser("models", help="load time and tokens/s of each installed model, local and as served")
    models.add_argument("--tokens", type=int, default=64, help="tokens to generate per run (default 64)")
    models.set_defaults(handler=bench_models)


def bench_models(args: argparse.Namespace, config: Config) -> int:
    from edge_agent.bench import models

    print(f"# tandem bench models: greedy, {args.tokens} tokens, {os.cpu_count()} cores, "
          "local = in process, served = `tandem cloud serve` over loopback gRPC")
    print(models.run(args.tokens), flush=True)
    return 0

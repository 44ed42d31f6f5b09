"""`tandem bench ...` subcommands (benchmarks print figures; tests never assert timings)."""

from __future__ import annotations

import argparse
import os

from edge_agent.config import Config


def bench_models(args: argparse.Namespace, config: Config) -> int:
    from edge_agent.bench import models

    print(f"# tandem bench models: greedy, {args.tokens} tokens, {os.cpu_count()} cores, "
          "local = in process, served = `tandem cloud serve` over loopback gRPC")
    print(models.run(args.tokens), flush=True)
    return 0

"""The edge's `tandem` subcommands, one module per command group (each has `register(commands)`).

Each module is listed under the `tandem.commands` entry points in pyproject.toml; `runtime.cli`
finds and registers them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from edge_agent.config import load_config


def command(parser: argparse.ArgumentParser, handler: Callable[..., int | None]) -> None:
    """Make `parser` run `handler(args, config)` with the edge's configuration."""
    parser.set_defaults(handler=handler, load_config=load_config)

"""`tandem config`: the edge's effective configuration (`tandem cloud config` prints the server's)."""

from __future__ import annotations

import argparse

from edge_agent.commands import command
from edge_agent.config import Config
from runtime.settings import render_toml


def register(commands: argparse._SubParsersAction) -> None:
    """Add `tandem config` to the command parsers."""
    command(commands.add_parser("config", help="print the effective configuration and where it came from"), show_config)


def show_config(args: argparse.Namespace, config: Config) -> int:
    """Print every edge section with its effective values."""
    print(render_toml(config))
    return 0

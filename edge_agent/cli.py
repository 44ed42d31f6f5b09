"""`tandem`: the command line.

    tandem ask "Write a note to ..." --context notes.txt --strategy sketch
    tandem models list | install | verify | path
    tandem cloud serve --port 50051
    tandem context add --note "..." | list | show | remove | search
    tandem daemon start | stop | status | logs | install-service
    tandem audit --last 5
    tandem demo
    tandem bench models

Each command group lives in its own module with a `register(commands)` function
that adds its subparser and sets `handler=` (called as `handler(args, config)`).
To add a command, write such a module and list it in COMMAND_MODULES.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from edge_agent.config import ConfigError, load_config

EXIT_USAGE = 2
EXIT_FAILURE = 1

COMMAND_MODULES = (
    "edge_agent.commands.ask",
    "edge_agent.commands.chat",
    "edge_agent.commands.context",
    "edge_agent.commands.daemon",
    "edge_agent.commands.models",
    "cloud_service.cli",
    "edge_agent.commands.audit",
    "edge_agent.commands.config",
    "edge_agent.commands.demo",
    "edge_agent.commands.fuse",
    "edge_agent.bench.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandem",
        description="Private writing with a small model on your device and a large model in the cloud "
        "that never sees your private context.",
    )
    parser.add_argument("--config", metavar="FILE",
                        help="config file (default: $TANDEM_CONFIG or ~/.config/tandem/config.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (no private text)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    from edge_agent.cli_errors import USER_ERRORS  # the exceptions that mean "a user mistake"

    try:
        config = load_config(args.config)
        return args.handler(args, config) or 0
    except BrokenPipeError:  # e.g. `tandem audit | head`
        sys.stderr.close()
        return 0
    except USER_ERRORS as exc:
        print(f"tandem: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILURE
    except KeyboardInterrupt:
        print("\ntandem: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

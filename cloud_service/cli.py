"""`tandem cloud serve` (run the cloud service in the foreground) and `tandem cloud config`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from cloud_service.settings import CloudSettings, load_cloud_settings
from runtime.cli import subgroup
from runtime.settings import render_toml

GROUP_HELP = "run or query the cloud service"


def register(commands: argparse._SubParsersAction) -> None:
    """Add `tandem cloud serve` to the command line."""
    actions = subgroup(commands, "cloud", GROUP_HELP)
    serve_parser = actions.add_parser("serve", help="host the cloud model over gRPC (Ctrl-C or SIGTERM stops it)")
    serve_parser.add_argument("--host", help="address to bind (default: server.host, 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, help="port (default: server.port, 50051; 0 = any free port)")
    serve_parser.add_argument("--model", metavar="NAME|PATH", help="model to host (default: server.model)")
    serve_parser.set_defaults(handler=serve, load_config=load_cloud_settings)
    config = actions.add_parser("config", help="print the server's effective configuration ([server])")
    config.set_defaults(handler=show_config, load_config=load_cloud_settings)


def serve(args: argparse.Namespace, config: CloudSettings) -> int:
    """Serve until SIGTERM/SIGINT. Logs counts and timings only, never user text."""
    from cloud_service.server import serve as run_server

    settings = config.server
    if args.host:
        settings.host = args.host
    if args.port is not None:
        settings.port = args.port
    logging.getLogger("cloud_service").setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)

    def ready(cloud) -> None:
        print(f"tandem cloud: serving {cloud.servicer.backend.info.model_id} on {settings.host}:{cloud.port}",
              file=sys.stderr, flush=True)

    asyncio.run(run_server(settings, model=args.model, on_ready=ready))
    print("tandem cloud: stopped", file=sys.stderr)
    return 0


def show_config(args: argparse.Namespace, config: CloudSettings) -> int:
    """Print the [server] section with its effective values."""
    print(render_toml(config))
    return 0

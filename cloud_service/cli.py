"""`tandem cloud serve`: run the cloud service in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from edge_agent.config import Config


def serve(args: argparse.Namespace, config: Config) -> int:
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

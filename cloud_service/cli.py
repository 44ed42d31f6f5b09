"""`tandem cloud serve`: run the cloud service in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from edge_agent.config import Config


def register(commands: argparse._SubParsersAction) -> None:
    cloud = commands.add_parser("cloud", help="run or query the cloud service")
    actions = cloud.add_subparsers(dest="cloud_command", metavar="ACTION", required=True)
    serve_parser = actions.add_parser("serve", help="host the cloud model over gRPC (Ctrl-C or SIGTERM stops it)")
    serve_parser.add_argument("--host", help="address to bind (default: server.host, 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, help="port (default: server.port, 50051; 0 = any free port)")
    serve_parser.add_argument("--model", metavar="NAME|PATH", help="model to host (default: server.model)")
    serve_parser.set_defaults(handler=serve)
    info = actions.add_parser("info", help="ask a running cloud service what it hosts")
    info.add_argument("--cloud", metavar="HOST:PORT", help="address (default: cloud.address)")
    info.set_defaults(handler=info_command)


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


def info_command(args: argparse.Namespace, config: Config) -> int:
    """Print what a running cloud service hosts (the request is audited like any other)."""
    from edge_agent.cloud_client import CloudClient
    from edge_agent.privacy import AuditLog, PrivacyGuard

    address = args.cloud or config.cloud.address
    with CloudClient(address, AuditLog(config.privacy.audit_path()), PrivacyGuard(),
                     connect_timeout_s=config.cloud.connect_timeout_s, cloud=config.cloud) as client:
        info = client.info()
    print(f"address:      {address}\nmodel:        {info.model_id}\nbackend:      {info.backend}")
    print(f"vocabulary:   {info.n_vocab} tokens, fingerprint {info.vocab_fingerprint[:16]}...")
    print(f"context:      {info.n_ctx} tokens (max_tokens up to {info.max_tokens_limit})")
    print(f"capabilities: {', '.join(info.capabilities)}")
    return 0

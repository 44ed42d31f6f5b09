"""`tandem cloud info`: ask the configured cloud service what it hosts (an edge command: it calls out)."""

from __future__ import annotations

import argparse

from edge_agent.commands import command
from edge_agent.config import Config
from runtime.cli import subgroup

GROUP_HELP = "run or query the cloud service"


def register(commands: argparse._SubParsersAction) -> None:
    """Add `tandem cloud info` to the `cloud` group."""
    info = subgroup(commands, "cloud", GROUP_HELP).add_parser("info", help="ask a running cloud service what it hosts")
    info.add_argument("--cloud", metavar="HOST:PORT", help="address (default: cloud.address)")
    command(info, info_command)


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

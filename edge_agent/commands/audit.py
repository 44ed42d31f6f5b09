"""`tandem audit`: what left this device, exactly as sent."""

from __future__ import annotations

import argparse

from edge_agent.commands import command
from edge_agent.config import Config


def register(commands: argparse._SubParsersAction) -> None:
    """Add `tandem audit` to the command parsers."""
    audit = commands.add_parser("audit", help="show what left this device (the outbound audit log)")
    audit.add_argument("--last", type=int, metavar="N", help="only the last N entries")
    audit.add_argument("--request", metavar="ID", help="only the entries of one answer")
    command(audit, audit_command)


def audit_command(args: argparse.Namespace, config: Config) -> int:
    """Print the audit log's entries (all, the last N, or one request's); exit 0 even when there are none."""
    from edge_agent.privacy import AuditLog, format_entries

    path = config.privacy.audit_path()
    if not path.exists():
        print(f"nothing has left this device yet (no audit log at {path})")
        return 0
    entries = AuditLog(path).entries(last=args.last, request_id=args.request)
    print(format_entries(entries) if entries else "no matching entries")
    return 0

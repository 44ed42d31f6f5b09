"""`tandem demo`: the whole product in one command, on loopback."""

from __future__ import annotations

import argparse
import sys
import time

from edge_agent.commands import command
from edge_agent.commands.ask import print_report
from edge_agent.config import Config
from edge_agent.context import PrivateContext
from edge_agent.strategies.registry import NAMES as STRATEGIES
from runtime.models import CATALOG, install_model
from runtime.progress import ProgressLine

DEMO_NOTES = """Name: Dana Whitfield
Phone: +1 (415) 555-0172
Landlord: Mr. Okafor, okafor.rentals@example.com
Apartment: 4B, 1180 Larkin Street
The heating in the bedroom has not worked since November 3.
Parents visit from December 12 to December 15.
I am free for a repair visit on weekday mornings before 11 am.
Gym membership renews in January."""

DEMO_INSTRUCTION = "Write a short email to my landlord asking him to fix the heating before my parents visit."


def register(commands: argparse._SubParsersAction) -> None:
    """Add `tandem demo` to the command parsers."""
    demo = commands.add_parser("demo", help="start a cloud on loopback, ask one question with private notes, stop")
    demo.add_argument("--strategy", choices=STRATEGIES, default=None, help="default: edge.strategy")
    command(demo, demo_command)


def demo_command(args: argparse.Namespace, config: Config) -> int:
    """Install the default models, start a cloud on loopback, ask once, show what left, stop."""
    from edge_agent.agent import EdgeAgent
    from edge_agent.cloud_process import CloudProcess
    from edge_agent.privacy import AuditLog
    from edge_agent.strategies import AskRequest

    strategy = args.strategy or config.edge.strategy
    if config.edge.model in CATALOG:
        install_model(CATALOG[config.edge.model], progress=ProgressLine(config.edge.model))
    print("== starting the cloud service (server.model) on loopback ...", flush=True)
    started = time.monotonic()
    # The child reads [server] of the same config; the probe reaches it as the edge will ([cloud] TLS settings).
    with CloudProcess(config=args.config, probe=config.cloud) as cloud:
        print(f"== cloud ready at {cloud.address} in {time.monotonic() - started:.1f}s", flush=True)
        config.cloud.address = cloud.address
        agent = EdgeAgent(config)
        print("== private notes (they stay on this device):")
        print("   " + DEMO_NOTES.replace("\n", "\n   "))
        print(f"== instruction: {DEMO_INSTRUCTION}")
        print(f"== answer (strategy {strategy}):\n", flush=True)
        request = AskRequest(DEMO_INSTRUCTION, PrivateContext(DEMO_NOTES, "demo"), strategy,
                             max_tokens=config.edge.max_tokens)
        answer = agent.ask(request)
        try:
            for piece in answer:
                sys.stdout.write(piece)
                sys.stdout.flush()
        finally:
            agent.close()
        print("\n")
        print_report(answer.report, sys.stdout)
        sent = AuditLog(config.privacy.audit_path()).entries(request_id=answer.report.request_id)
        for entry in sent:
            print(f"-- sent {entry.rpc.rsplit('/', 1)[-1]} ({len(entry.payload)} bytes): "
                  + entry.summary.replace("\n", "; "))
        if not sent:
            print("-- nothing was sent to the cloud for this answer")
    print("== cloud service stopped")
    return 0

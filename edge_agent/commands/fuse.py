"""`tandem fuse train-gate`: fit the learned fusion gate on this device."""

from __future__ import annotations

import argparse
import json

from edge_agent.commands import command
from edge_agent.config import Config
from runtime.models.catalog import DEFAULT_CLOUD


def register(commands: argparse._SubParsersAction) -> None:
    fuse = commands.add_parser("fuse", help="logit fusion tools")
    actions = fuse.add_subparsers(dest="fuse_command", metavar="ACTION", required=True)
    train = actions.add_parser("train-gate", help="train the learned fusion gate (fuse.rule = \"gate\")",
                               description="Teacher-forces the edge and cloud models along synthetic gold answers "
                               "(never the benchmark's tasks) and fits the 6-weight gate. Runs locally.")
    train.add_argument("--tasks", type=int, default=40, help="synthetic tasks to learn from (default 40)")
    train.add_argument("--edge-model", metavar="NAME|PATH", help="default: edge.model")
    train.add_argument("--cloud-model", metavar="NAME|PATH", help=f"default: {DEFAULT_CLOUD} (loaded locally)")
    train.add_argument("--out", metavar="FILE", help="default: fuse.gate_file or <data dir>/fusion_gate.json")
    command(train, train_gate)


def train_gate(args: argparse.Namespace, config: Config) -> int:
    from pathlib import Path

    from edge_agent.fusion.gate import train
    from edge_agent.local_model import EdgeModel
    from runtime.models import resolve_model

    out = Path(args.out) if args.out else config.fuse.gate_path()
    edge = EdgeModel(resolve_model(args.edge_model or config.edge.model), n_ctx=2048)
    cloud = EdgeModel(resolve_model(args.cloud_model or DEFAULT_CLOUD), n_ctx=2048)
    print(f"training the fusion gate on {args.tasks} synthetic tasks ({edge.path.name} + {cloud.path.name}) ...",
          flush=True)
    report = train(edge, cloud, args.tasks, out)
    edge.close()
    cloud.close()
    print(json.dumps(report["held_out_nll"], indent=2))
    print(f"{report['positions']['train']} training positions, {report['positions']['held_out']} held out; "
          f"wrote {out} in {report['seconds']}s. Use it with `[fuse] rule = \"gate\"`.")
    return 0

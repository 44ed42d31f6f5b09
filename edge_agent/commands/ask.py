"""`tandem ask`: answer one instruction, streaming to stdout; the report goes to stderr."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from edge_agent.config import STRATEGIES, Config
from edge_agent.context import ContextError, PrivateContext, load_context_file
from edge_agent.strategies import AnswerReport


def register(commands: argparse._SubParsersAction) -> None:
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
    ask.set_defaults(handler=ask_command)


def ask_command(args: argparse.Namespace, config: Config) -> int:
    from edge_agent.agent import EdgeAgent
    from edge_agent.strategies import AskRequest

    if args.cloud:
        config.cloud.address = args.cloud
    if args.model:
        config.edge.model = args.model
    if not args.instruction.strip():
        raise ContextError("the instruction is empty: say what to write")
    if args.max_tokens is not None and args.max_tokens < 1:
        raise ContextError("--max-tokens must be at least 1")
    context = load_context_file(args.context) if args.context else PrivateContext()
    request = AskRequest(
        instruction=args.instruction,
        context=context,
        strategy=args.strategy or config.edge.strategy,
        max_tokens=args.max_tokens or config.edge.max_tokens,
        temperature=config.edge.temperature if args.temperature is None else args.temperature,
        seed=config.edge.seed if args.seed is None else args.seed,
    )
    agent = EdgeAgent(config)
    if sys.stderr.isatty():
        print(f"tandem: loading {config.edge.model} ...", file=sys.stderr, flush=True)
    agent.edge_model  # load before streaming so that a model error comes first
    answer = agent.ask(request)
    try:
        for piece in answer:
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
    finally:
        agent.close()
    if not args.no_report:
        print_report(answer.report)
    return 0


def print_report(report: AnswerReport, stream: TextIO = sys.stderr) -> None:
    """The lines under an answer: strategy, fallback, what went to the cloud, speed."""
    print(f"-- {report.summary()}", file=stream)
    if report.sketch:
        print(f"-- cloud outline: {len(report.sketch)} point(s)", file=stream)
    timing = f"-- {report.total_s or 0:.1f}s"
    if report.edge_tokens:
        timing += f", edge model wrote {report.edge_tokens} tokens"
    if report.request_id and report.wire.rpcs:
        timing += f"; see `tandem audit --request {report.request_id}`"
    print(timing, file=stream)

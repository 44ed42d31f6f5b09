"""`tandem ask`: answer one instruction, streaming to stdout; the report goes to stderr."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from edge_agent.commands import command
from edge_agent.config import Config
from edge_agent.context import ContextError, PrivateContext, load_context_file
from edge_agent.strategies.registry import NAMES as STRATEGIES
from edge_agent.strategies.report import AnswerReport

if TYPE_CHECKING:
    from edge_agent.daemon import DaemonClient
    from edge_agent.strategies import AskRequest


def register(commands: argparse._SubParsersAction) -> None:
    ask = commands.add_parser("ask", help="answer one instruction and stream it to stdout",
                              description="Answer one instruction. Private notes from --context stay on this device.")
    ask.add_argument("instruction", help="what to write, e.g. 'Email my landlord about the heating'")
    ask.add_argument("--context", metavar="FILE",
                     help="UTF-8 text file of private notes (default: your profile and the notes retrieved "
                          "from `tandem context`); stays on the device")
    ask.add_argument("--strategy", choices=STRATEGIES, help="how to answer (default: edge.strategy in the config)")
    ask.add_argument("--cloud", metavar="HOST:PORT", help="cloud service address (default: cloud.address)")
    ask.add_argument("--max-tokens", type=int, metavar="N", help="longest answer in tokens (default: edge.max_tokens)")
    ask.add_argument("--temperature", type=float, metavar="T", help="0 = greedy (default: edge.temperature)")
    ask.add_argument("--seed", type=int, metavar="N", help="sampling seed")
    ask.add_argument("--model", metavar="NAME|PATH", help="edge model (default: edge.model)")
    ask.add_argument("--no-report", action="store_true", help="print only the answer")
    which = ask.add_mutually_exclusive_group()
    which.add_argument("--conversation", type=int, metavar="ID",
                       help="continue this conversation: the model is given its earlier turns "
                            "(default: a new one; see `tandem history list`)")
    which.add_argument("--continue", dest="continue_last", action="store_true",
                       help="continue the conversation written to last")
    ask.add_argument("--no-daemon", action="store_true", help="answer in this process even if the daemon runs")
    command(ask, ask_command)


def ask_command(args: argparse.Namespace, config: Config) -> int:
    from edge_agent.daemon.client import running_daemon
    from edge_agent.strategies import AskRequest

    if args.cloud:
        config.cloud.address = args.cloud
    if args.model:
        config.edge.model = args.model
    if not args.instruction.strip():
        raise ContextError("the instruction is empty: say what to write")
    if args.max_tokens is not None and args.max_tokens < 1:
        raise ContextError("--max-tokens must be at least 1")
    context = load_context_file(args.context) if args.context else PrivateContext()  # empty: from the store
    request = AskRequest(
        instruction=args.instruction,
        context=context,
        strategy=args.strategy or config.edge.strategy,
        max_tokens=args.max_tokens or config.edge.max_tokens,
        temperature=config.edge.temperature if args.temperature is None else args.temperature,
        seed=config.edge.seed if args.seed is None else args.seed,
    )
    client = None if args.no_daemon else running_daemon(config.daemon.socket_path(), args.model, args.cloud)
    if client is not None:
        with client:
            store_path = Path(client.status()["store"] or config.daemon.store_path())
            conversation = _conversation(args, store_path)
            report, where = _ask_daemon(client, request, conversation)
    else:
        conversation = _conversation(args, config.daemon.store_path())
        report, where = _ask_in_process(config, request, conversation)
    if not args.no_report:
        print_report(report)
        print(f"-- {where}", file=sys.stderr)
    return 0


def _conversation(args: argparse.Namespace, store_path: Path) -> int | None:
    """The conversation to continue: --conversation ID, the latest with --continue, else None (a new one)."""
    if not args.continue_last:
        return args.conversation
    from edge_agent.store import Store, StoreError

    with Store(store_path) as store:
        latest = store.list_conversations()
    if not latest:
        raise StoreError("there is no conversation to continue yet: ask without --continue to start one")
    return latest[0].id


def _ask_daemon(client: DaemonClient, request: AskRequest, conversation_id: int | None) -> tuple[AnswerReport, str]:
    """Answer through the running daemon (its models are loaded; its store gives the context)."""
    if sys.stderr.isatty() and client.status()["state"] == "loading":
        print("tandem: the daemon is loading its model ...", file=sys.stderr, flush=True)
    started, report = None, None
    for event in client.ask(request, conversation_id=conversation_id):
        if event.kind == "started":
            started = event
        elif event.kind == "text":
            sys.stdout.write(event.text)
            sys.stdout.flush()
        else:
            report = event.report
    sys.stdout.write("\n")
    return report, f"answered by the daemon; context: {started.context_source or 'none'}; " \
                   f"saved in conversation {started.conversation_id}{_history_note(report)}"


def _ask_in_process(config: Config, request: AskRequest, conversation_id: int | None) -> tuple[AnswerReport, str]:
    """Answer in this process: load the model, take the context from the store unless one was given."""
    from edge_agent.agent import EdgeAgent
    from edge_agent.service import AnswerService
    from edge_agent.store import Store

    with Store(config.daemon.store_path()) as store:
        agent = EdgeAgent(config)
        service = AnswerService(config, store, agent)
        service.check(request, conversation_id)  # a wrong strategy or conversation fails before the model loads
        if sys.stderr.isatty():
            print(f"tandem: loading {config.edge.model} ...", file=sys.stderr, flush=True)
        try:
            service.load()  # before streaming, so that a model error comes first
            turn = service.start(request, conversation_id)
            for piece in turn:
                sys.stdout.write(piece)
                sys.stdout.flush()
            sys.stdout.write("\n")
        finally:
            agent.close()
    return turn.report, (f"context: {turn.context_source or 'none'}; saved in conversation "
                         f"{turn.conversation_id}{_history_note(turn.report)}")


def _history_note(report: AnswerReport | None) -> str:
    """Where the answer continues from, for the last line on stderr."""
    if report is None or not (report.history_turns or report.history_dropped):
        return " (continue it with --continue)"
    dropped = f", {report.history_dropped} older left out" if report.history_dropped else ""
    return f" after {report.history_turns} earlier turn(s){dropped}"


def print_report(report: AnswerReport, stream: TextIO = sys.stderr) -> None:
    """The lines under an answer: strategy, fallback, what went to the cloud, the notes used, speed."""
    print(f"-- {report.summary()}", file=stream)
    if report.sketch:
        print(f"-- cloud outline: {len(report.sketch)} point(s)", file=stream)
    if report.notes_used:
        print("-- notes used:", file=stream)
        for line in report.notes_used:
            print(f"--   {line}", file=stream)
    timing = f"-- {report.total_s or 0:.1f}s"
    if report.edge_tokens:
        timing += f", edge model wrote {report.edge_tokens} tokens"
    if report.request_id and report.wire.rpcs:
        timing += f"; see `tandem audit --request {report.request_id}`"
    print(timing, file=stream)

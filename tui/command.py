"""`tandem chat`: the terminal chat (Textual); registered from the tui package, which sits above the edge.

It answers through the edge daemon when one runs (`tandem daemon start`), so the models
stay loaded between chats; otherwise it loads the edge model in this process. The status
bar says which ("daemon" or "in-process").
"""

from __future__ import annotations

import argparse
import sys

from edge_agent.commands import command
from edge_agent.config import Config
from edge_agent.strategies import STRATEGIES


def register(commands: argparse._SubParsersAction) -> None:
    chat = commands.add_parser(
        "chat", help="chat in the terminal: streaming answers, strategies, what left the device",
        description="The terminal chat. Uses the edge daemon when it runs, else the edge model in this process. "
        "F1 inside lists the keys.",
    )
    chat.add_argument("--strategy", choices=list(STRATEGIES), help="how to answer at first (default: edge.strategy)")
    chat.add_argument("--model", metavar="NAME|PATH", help="edge model when running in process (default: edge.model)")
    chat.add_argument("--cloud", metavar="HOST:PORT", help="cloud service address (default: cloud.address)")
    chat.add_argument("--in-process", action="store_true", help="do not use the daemon even if it runs")
    which = chat.add_mutually_exclusive_group()
    which.add_argument("--conversation", type=int, metavar="ID",
                       help="open this conversation (see `tandem history list`) and continue it")
    which.add_argument("--continue", dest="continue_last", action="store_true",
                       help="open the conversation written to last and continue it")
    command(chat, chat_command)


def chat_command(args: argparse.Namespace, config: Config) -> int:
    from runtime.models import resolve_model
    from tui import TandemChat, open_backend

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("tandem: error: chat needs an interactive terminal (use `tandem ask` in scripts)", file=sys.stderr)
        return 1
    if args.cloud:
        config.cloud.address = args.cloud
    if args.model:
        config.edge.model = args.model
    backend = open_backend(config, prefer_daemon=not args.in_process, model=args.model, cloud=args.cloud)
    if backend.mode == "in-process":
        try:
            resolve_model(config.edge.model)  # a missing model is a one-line error before the screen opens
        except Exception:
            backend.close()
            raise
    try:
        conversation = _conversation(args, backend)
    except Exception:
        backend.close()
        raise
    TandemChat(backend, strategy=args.strategy, conversation_id=conversation).run()
    return 0


def _conversation(args: argparse.Namespace, backend) -> int | None:
    """The chat to open: --conversation ID (checked), the latest with --continue, else none (a new one)."""
    from edge_agent.store import StoreError

    if args.conversation is not None:
        return backend.store.get_conversation(args.conversation).id  # StoreError naming the id if there is none
    if args.continue_last:
        latest = backend.store.list_conversations()
        if not latest:
            raise StoreError("there is no conversation to continue yet: `tandem chat` starts one")
        return latest[0].id
    return None

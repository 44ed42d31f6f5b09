"""`tandem history`: the conversations in the private store: list, show, export, delete.

What is shown is each conversation's active branch (what the chat shows and the model is
given on the next turn); an edited instruction left an older branch, which `export --format
json` includes too.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, TextIO

from edge_agent.commands import command
from edge_agent.config import Config

if TYPE_CHECKING:
    from edge_agent.store import Conversation, Message, Store

UNTITLED = "(untitled)"


def register(commands: argparse._SubParsersAction) -> None:
    history = commands.add_parser(
        "history", help="your conversations: list, show, export, delete",
        description="The conversations kept in the private store (they never leave this device). "
        "Continue one with `tandem ask --conversation ID` or `tandem chat`.")
    actions = history.add_subparsers(dest="history_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every conversation, the latest first")
    command(listing, list_command)
    show = actions.add_parser("show", help="one conversation's turns")
    show.add_argument("id", type=int, metavar="ID", help="the conversation (see `tandem history list`)")
    command(show, show_command)
    export = actions.add_parser("export", help="one conversation as Markdown or JSON, to stdout")
    export.add_argument("id", type=int, metavar="ID", help="the conversation (see `tandem history list`)")
    export.add_argument("--format", choices=("md", "json"), default="md",
                        help="md: the turns as Markdown (default); json: every message of every branch, "
                             "with its report")
    command(export, export_command)
    delete = actions.add_parser("delete", help="delete one conversation and all its messages")
    delete.add_argument("id", type=int, metavar="ID", help="the conversation (see `tandem history list`)")
    command(delete, delete_command)


def _store(config: Config) -> Store:
    from edge_agent.store import Store

    return Store(config.daemon.store_path())


def list_command(args: argparse.Namespace, config: Config, out: TextIO = sys.stdout) -> int:
    """`tandem history list`: id, last update, turns on the active branch, title (and branches)."""
    with _store(config) as store:
        conversations = store.list_conversations()
        if not conversations:
            print("no conversations yet (`tandem ask` or `tandem chat` starts one)", file=out)
            return 0
        print(f"{'ID':>4}  {'UPDATED':<16}  {'TURNS':>5}  TITLE", file=out)
        for conversation in conversations:
            turns = len(store.turns(conversation.id))
            branches = len(store.leaves(conversation.id))
            title = conversation.title or UNTITLED
            if branches > 1:
                title += f"  [{branches} branches]"
            print(f"{conversation.id:>4}  {_stamp(conversation.updated):<16}  {turns:>5}  {title}", file=out)
    return 0


def show_command(args: argparse.Namespace, config: Config, out: TextIO = sys.stdout) -> int:
    """`tandem history show ID`: the active branch, each answer with how it was made."""
    with _store(config) as store:
        conversation = store.get_conversation(args.id)
        print(f"# {conversation.title or UNTITLED} (conversation {conversation.id}, "
              f"updated {_stamp(conversation.updated)})", file=out)
        for message in store.messages(conversation.id):
            print(file=out)
            if message.role == "user":
                print(f"> {message.text}", file=out)
            else:
                print(message.text or "(no text)", file=out)
                print(f"  -- {_answer_line(message)}", file=out)
    return 0


def export_command(args: argparse.Namespace, config: Config, out: TextIO = sys.stdout) -> int:
    """`tandem history export ID [--format md|json]` to stdout."""
    with _store(config) as store:
        conversation = store.get_conversation(args.id)
        if args.format == "json":
            json.dump(export_json(store, conversation), out, ensure_ascii=False, indent=2)
            out.write("\n")
        else:
            out.write(export_markdown(conversation, store.messages(conversation.id)))
    return 0


def delete_command(args: argparse.Namespace, config: Config, out: TextIO = sys.stdout) -> int:
    """`tandem history delete ID`: the conversation and every message of every branch."""
    with _store(config) as store:
        conversation = store.get_conversation(args.id)
        store.delete_conversation(conversation.id)
    print(f"deleted conversation {conversation.id} ({conversation.title or UNTITLED})", file=out)
    return 0


def export_markdown(conversation: Conversation, messages: list[Message]) -> str:
    """The active branch as Markdown: the instructions as quotes, the answers as text."""
    lines = [f"# {conversation.title or UNTITLED}", "", f"Conversation {conversation.id}, "
             f"started {_stamp(conversation.created)}, updated {_stamp(conversation.updated)}.", ""]
    for message in messages:
        if message.role == "user":
            lines += ["**You:**", "", *[f"> {line}" for line in message.text.splitlines() or [""]], ""]
        else:
            lines += [f"**tandem** ({_answer_line(message)}):", "", message.text or "(no text)", ""]
    return "\n".join(lines)


def export_json(store: Store, conversation: Conversation) -> dict:
    """Every message of every branch with its parent and report; `active` marks the active branch."""
    active = {m.id for m in store.messages(conversation.id)}
    return {
        "id": conversation.id, "title": conversation.title, "created": conversation.created,
        "updated": conversation.updated, "head_id": conversation.head_id,
        "messages": [
            {"id": m.id, "parent_id": m.parent_id, "role": m.role, "text": m.text, "complete": m.complete,
             "created": m.created, "active": m.id in active, "meta": m.meta}
            for m in store.all_messages(conversation.id)
        ],
    }


def _answer_line(message: Message) -> str:
    meta = message.meta
    parts = [str(meta.get("strategy") or "?")]
    if meta.get("interrupted"):
        parts.append(f"incomplete: {meta['interrupted']}")
    elif not message.complete:
        parts.append("being written")
    if meta.get("fallback"):
        parts.append("edge-only fallback")
    if meta.get("history_turns"):
        parts.append(f"after {meta['history_turns']} earlier turn(s)")
    return ", ".join(parts)


def _stamp(iso: str) -> str:
    """'2026-11-29T01:04:05.123456+00:00' -> '2026-11-29 01:04' (UTC)."""
    return iso[:16].replace("T", " ")

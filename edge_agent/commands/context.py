"""`tandem context add|list|show|remove|search`: the private context store (never leaves the device)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge_agent.commands import command
from edge_agent.config import Config

SNIPPET_CHARS = 100


def register(commands: argparse._SubParsersAction) -> None:
    """Add `tandem context add|list|show|remove|search` to the command parsers."""
    context = commands.add_parser(
        "context", help="your private notes, profile and documents (used by every answer; never sent to the cloud)"
    )
    actions = context.add_subparsers(dest="context_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add documents (text/markdown files), a note or a profile entry",
                             description="Add private context. Files are chunked and embedded for retrieval.")
    add.add_argument("files", nargs="*", type=Path, metavar="FILE", help="UTF-8 text or markdown files to import")
    add.add_argument("--note", metavar="TEXT", help="a note ('-' reads it from stdin)")
    add.add_argument("--profile", metavar="TEXT", help="something about you that every answer may use ('-' = stdin)")
    add.add_argument("--title", help="title of the note or profile entry (default: its first line)")
    command(add, add_command)
    listing = actions.add_parser("list", help="list the items in the store")
    listing.add_argument("--kind", choices=("profile", "note", "document"), help="only items of this kind")
    command(listing, list_command)
    show = actions.add_parser("show", help="print one item in full")
    show.add_argument("id", type=int)
    command(show, show_command)
    remove = actions.add_parser("remove", help="delete items (and their embeddings)")
    remove.add_argument("ids", type=int, nargs="+", metavar="ID")
    command(remove, remove_command)
    search = actions.add_parser("search", help="the chunks most similar to a query (what retrieval would pick)")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=4, metavar="N", help="how many chunks (default 4)")
    command(search, search_command)


def _store(config: Config):
    from edge_agent.store import Store

    return Store(config.daemon.store_path())


def _text(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


def add_command(args: argparse.Namespace, config: Config) -> int:
    """Add files, a note and/or a profile entry to the store; every file is read first, so a bad one adds nothing."""
    from edge_agent.store import StoreError
    from edge_agent.store.documents import read_document

    if not (args.files or args.note is not None or args.profile is not None):
        raise StoreError("nothing to add: give FILE(s), --note TEXT or --profile TEXT")
    for path in args.files:  # refuse a bad file before adding anything
        read_document(path)
    with _store(config) as store:
        added = [store.add_document(path) for path in args.files]
        if args.note is not None:
            added.append(store.add_note(_text(args.note), title=args.title or ""))
        if args.profile is not None:
            added.append(store.add_profile(_text(args.profile), title=args.title or "profile"))
    for item in added:
        print(f"added {item.kind} {item.id}: {item.title} ({item.chunks} chunk{'s' * (item.chunks != 1)})")
    return 0


def list_command(args: argparse.Namespace, config: Config) -> int:
    """Print the store's items (optionally of one kind) as a table."""
    with _store(config) as store:
        items = store.list_items(args.kind)
    if not items:
        print("the store is empty: `tandem context add --note TEXT` or `tandem context add FILE` adds to it")
        return 0
    print(f"{'ID':>4}  {'KIND':<8}  {'CHUNKS':>6}  {'ADDED':<16}  TITLE")
    for item in items:
        print(f"{item.id:>4}  {item.kind:<8}  {item.chunks:>6}  {item.created[:16].replace('T', ' '):<16}  {item.title}")
    return 0


def show_command(args: argparse.Namespace, config: Config) -> int:
    """Print one item in full after a header with its kind, title, origin and chunk count."""
    with _store(config) as store:
        item = store.get_item(args.id)
    print(f"# {item.kind} {item.id}: {item.title}")
    print(f"# added {item.created}{f', from {item.source}' if item.source else ''}, {item.chunks} chunk(s)")
    print(item.text)
    return 0


def remove_command(args: argparse.Namespace, config: Config) -> int:
    """Delete the given items and their embeddings in order; an unknown id raises, the ones before it stay deleted."""
    with _store(config) as store:
        for item_id in args.ids:
            item = store.get_item(item_id)
            store.remove_item(item_id)
            print(f"removed {item.kind} {item.id}: {item.title}")
    return 0


def search_command(args: argparse.Namespace, config: Config) -> int:
    """Print the k chunks most similar to the query: score, item id, title and a one-line snippet."""
    with _store(config) as store:
        chunks = store.search(args.query, k=args.k)
    if not chunks:
        print("nothing to search: the store is empty")
        return 0
    for chunk in chunks:
        snippet = " ".join(chunk.text.split())
        if len(snippet) > SNIPPET_CHARS:
            snippet = snippet[: SNIPPET_CHARS - 1] + "…"
        print(f"{chunk.score:5.2f}  [{chunk.item_id}] {chunk.title}: {snippet}")
    return 0

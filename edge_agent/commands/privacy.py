"""`tandem privacy allow|disallow|list|check`: the allow-list of public names, and what the guard would send."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge_agent.commands import command
from edge_agent.config import Config
from edge_agent.context import ContextError


def register(commands: argparse._SubParsersAction) -> None:
    """Add `tandem privacy allow|disallow|list|check` to the command parsers."""
    privacy = commands.add_parser("privacy", help="public names the guard may send as they are; test the guard")
    actions = privacy.add_subparsers(dest="privacy_command", metavar="ACTION", required=True)
    allow = actions.add_parser("allow", help="let these names go to the cloud as they are (e.g. a public company)")
    allow.add_argument("names", nargs="+", metavar="NAME")
    command(allow, allow_command)
    disallow = actions.add_parser("disallow", help="take names off the allow-list")
    disallow.add_argument("names", nargs="+", metavar="NAME")
    command(disallow, disallow_command)
    command(actions.add_parser("list", help="the allow-list (config privacy.allow and the allow-list file)"),
            list_command)
    check = actions.add_parser("check", help="show what the guard would send of TEXT (nothing is sent)")
    check.add_argument("text", help="e.g. 'Email Priya about my knee replacement on June 3'")
    check.add_argument("--context", metavar="FILE", help="private notes the guard also learns from")
    command(check, check_command)


def _file(config: Config) -> Path | None:
    return Path(config.privacy.allow_file).expanduser() if config.privacy.allow_file else None


def allow_command(args: argparse.Namespace, config: Config) -> int:
    """Add names to the allow-list file."""
    from edge_agent.privacy import allow, allow_file

    for name in args.names:
        if not name.strip():
            raise ContextError("an empty name cannot be allowed")
        added = allow(name, _file(config))
        print(f"{'allowed' if added else 'already allowed'}: {' '.join(name.split())}")
    print(f"(the list: {_file(config) or allow_file()})")
    return 0


def disallow_command(args: argparse.Namespace, config: Config) -> int:
    """Remove names from the allow-list file; exit 1 if one was not on it."""
    from edge_agent.privacy import disallow

    missing = 0
    for name in args.names:
        if disallow(name, _file(config)):
            print(f"removed: {name}")
        else:
            missing += 1
            print(f"not on the list: {name}")
    return 1 if missing else 0


def list_command(args: argparse.Namespace, config: Config) -> int:
    """Print every allowed name and where it comes from."""
    from edge_agent.privacy import allow_file, read_allow_list

    path = _file(config) or allow_file()
    names = [(n, "config privacy.allow") for n in config.privacy.guard_settings().allow]
    names += [(n, str(path)) for n in read_allow_list(path)]
    if not names:
        print(f"no public names are allowed (add one with `tandem privacy allow NAME`; the list is {path})")
    for name, source in names:
        print(f"{name}\t({source})")
    return 0


def check_command(args: argparse.Namespace, config: Config) -> int:
    """Print TEXT as the guard would send it, and each placeholder's original."""
    from edge_agent.context import load_context_file
    from edge_agent.privacy import PrivacyGuard

    notes = load_context_file(args.context).guard_lines if args.context else []
    redaction = PrivacyGuard(notes, config.privacy.guard_settings()).redact(args.text)
    print(redaction.text)
    for placeholder, original in redaction.placeholders.items():
        print(f"  {placeholder} = {original}")
    return 0

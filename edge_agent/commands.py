"""The actions behind `tandem ask`, `models`, `audit`, `config` and `demo`."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from typing import TextIO

from edge_agent.config import Config
from edge_agent.context import PrivateContext, load_context_file
from edge_agent.models import CATALOG, ModelError, install_model, model_path, verify_model
from edge_agent.models.catalog import DEFAULT_CLOUD, DEFAULT_EDGE
from edge_agent.models.install import is_installed


class ProgressLine:
    """A one-line progress display on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self._last = 0.0
        self._tty = stream.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < (0.2 if self._tty else 5.0):
            return
        self._last = now
        if stage == "download":
            text = f"{self.label}: downloading {total} package(s)" + (" done" if done == total else "...")
        else:
            pct = 100 * done / total if total else 100
            text = f"{self.label}: {stage} {pct:5.1f}% ({done / 1e6:,.0f} / {total / 1e6:,.0f} MB)"
        if self._tty:
            self.stream.write("\r\033[K" + text + ("\n" if done == total else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


# -- models -------------------------------------------------------------------------


def models_list(args: argparse.Namespace, config: Config) -> int:
    print(f"{'name':<22}{'role':<7}{'size':>9}  {'installed':<10}description")
    for spec in CATALOG.values():
        state = "yes" if is_installed(spec) else ("unverified" if model_path(spec).exists() else "no")
        print(f"{spec.name:<22}{spec.role:<7}{spec.size / 1e6:>7,.0f}MB  {state:<10}{spec.description}")
    print(f"\nedge model: {config.edge.model}   cloud model: {config.server.model}")
    return 0


def _specs(names: list[str], default: list[str]):
    unknown = [n for n in names if n not in CATALOG]
    if unknown:
        raise ModelError(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(CATALOG)}")
    return [CATALOG[n] for n in (names or default)]


def models_install(args: argparse.Namespace, config: Config) -> int:
    specs = _specs(args.names, list(CATALOG) if args.all else [DEFAULT_EDGE, DEFAULT_CLOUD])
    for spec in specs:
        started = time.monotonic()
        path = install_model(spec, force=args.force, progress=ProgressLine(spec.name))
        print(f"{spec.name}: ready at {path} ({time.monotonic() - started:.1f}s)")
    return 0


def models_verify(args: argparse.Namespace, config: Config) -> int:
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


def models_path(args: argparse.Namespace, config: Config) -> int:
    (spec,) = _specs([args.name], [])
    print(model_path(spec))
    return 0 if model_path(spec).exists() else 1


# -- ask ----------------------------------------------------------------------------


def _status(message: str) -> None:
    if sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)


def ask(args: argparse.Namespace, config: Config) -> int:
    from edge_agent.agent import EdgeAgent
    from edge_agent.strategies import AskRequest

    if args.cloud:
        config.cloud.address = args.cloud
    if args.model:
        config.edge.model = args.model
    context = load_context_file(args.context) if args.context else PrivateContext()
    if not args.instruction.strip():
        raise ValueError("the instruction is empty")
    request = AskRequest(
        instruction=args.instruction,
        context=context,
        strategy=args.strategy or config.edge.strategy,
        max_tokens=args.max_tokens or config.edge.max_tokens,
        temperature=config.edge.temperature if args.temperature is None else args.temperature,
        seed=config.edge.seed if args.seed is None else args.seed,
    )
    agent = EdgeAgent(config)
    _status(f"tandem: loading {config.edge.model} ...")
    agent.edge_model  # load before streaming so errors come first
    answer = agent.ask(request)
    for piece in answer:
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    if not args.no_report:
        print_report(answer.report)
    agent.close()
    return 0


def print_report(report, stream: TextIO = sys.stderr) -> None:
    """The lines under an answer: strategy, fallback, what went to the cloud, speed."""
    print(f"-- {report.summary()}", file=stream)
    if report.sketch:
        print(f"-- cloud outline: {len(report.sketch)} point(s)", file=stream)
    timing = f"-- {report.total_s:.1f}s"
    if report.edge_tokens and report.total_s:
        timing += f", edge {report.edge_tokens} tokens"
    if report.request_id and report.wire.rpcs:
        timing += f"; see `tandem audit --request {report.request_id}`"
    print(timing, file=stream)


# -- audit and config ---------------------------------------------------------------


def audit(args: argparse.Namespace, config: Config) -> int:
    from edge_agent.privacy import AuditLog, format_entries

    path = config.privacy.audit_path()
    if not path.exists():
        print(f"nothing has left this device yet (no audit log at {path})")
        return 0
    entries = AuditLog(path).entries(last=args.last, request_id=args.request)
    print(format_entries(entries) if entries else "no matching entries")
    return 0


def show_config(args: argparse.Namespace, config: Config) -> int:
    print(f"# effective configuration (file: {config.source}; TANDEM_<SECTION>_<KEY> variables override)")
    for section in ("edge", "cloud", "server", "privacy"):
        print(f"\n[{section}]")
        for key, value in dataclasses.asdict(getattr(config, section)).items():
            rendered = str(value).lower() if isinstance(value, bool) else (f'"{value}"' if isinstance(value, str) else value)
            print(f"{key} = {rendered}")
    return 0


def cloud_info(args: argparse.Namespace, config: Config) -> int:
    from edge_agent.cloud_client import CloudClient
    from edge_agent.privacy import AuditLog, PrivacyGuard

    address = args.cloud or config.cloud.address
    with CloudClient(address, AuditLog(config.privacy.audit_path()), PrivacyGuard(),
                     connect_timeout_s=config.cloud.connect_timeout_s) as client:
        info = client.info()
    print(f"address:      {address}\nmodel:        {info.model_id}\nbackend:      {info.backend}")
    print(f"vocabulary:   {info.n_vocab} tokens, fingerprint {info.vocab_fingerprint[:16]}...")
    print(f"context:      {info.n_ctx} tokens (max_tokens up to {info.max_tokens_limit})")
    print(f"capabilities: {', '.join(info.capabilities)}")
    return 0


# -- demo ---------------------------------------------------------------------------

DEMO_NOTES = """Name: Dana Whitfield
Phone: +1 (415) 555-0172
Landlord: Mr. Okafor, okafor.rentals@example.com
Apartment: 4B, 1180 Larkin Street
The heating in the bedroom has not worked since November 3.
Parents visit from December 12 to December 15.
I am free for a repair visit on weekday mornings before 11 am.
Gym membership renews in January."""

DEMO_INSTRUCTION = "Write a short email to my landlord asking him to fix the heating before my parents visit."


def demo(args: argparse.Namespace, config: Config) -> int:
    """Install the default models, start a cloud on loopback, ask once, show what left, stop."""
    from edge_agent.agent import EdgeAgent
    from edge_agent.cloud_process import CloudProcess
    from edge_agent.strategies import AskRequest

    for name in (config.edge.model, config.server.model):
        if name in CATALOG:
            install_model(CATALOG[name], progress=ProgressLine(name))
    print(f"== starting the cloud service ({config.server.model}) on loopback ...", flush=True)
    started = time.monotonic()
    with CloudProcess(model=config.server.model, config=getattr(args, "config", None)) as cloud:
        print(f"== cloud ready at {cloud.address} in {time.monotonic() - started:.1f}s", flush=True)
        config.cloud.address = cloud.address
        agent = EdgeAgent(config)
        print("== private notes (stay on this device):")
        print("   " + DEMO_NOTES.replace("\n", "\n   "))
        print(f"== instruction: {DEMO_INSTRUCTION}")
        print(f"== answer (strategy {args.strategy}):\n", flush=True)
        answer = agent.ask(AskRequest(DEMO_INSTRUCTION, PrivateContext(DEMO_NOTES, "demo"), args.strategy,
                                      max_tokens=config.edge.max_tokens))
        for piece in answer:
            sys.stdout.write(piece)
            sys.stdout.flush()
        print("\n")
        print_report(answer.report, sys.stdout)
        from edge_agent.privacy import AuditLog

        for entry in AuditLog(config.privacy.audit_path()).entries(request_id=answer.report.request_id):
            print(f"-- sent {entry.rpc.rsplit('/', 1)[-1]} ({len(entry.payload)} bytes): {entry.summary}")
        agent.close()
    print("== cloud service stopped")
    return 0

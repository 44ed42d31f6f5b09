"""`tandem daemon start|stop|status|logs|install-service`: the edge agent in the background."""

from __future__ import annotations

import argparse
import json
import sys
import time

from edge_agent.commands import command
from edge_agent.config import Config

EXIT_NOT_RUNNING = 3  # like `systemctl status` for a stopped unit


def register(commands: argparse._SubParsersAction) -> None:
    """Add `tandem daemon start|stop|status|logs|install-service` to the command parsers."""
    daemon = commands.add_parser(
        "daemon", help="run the edge agent in the background (models loaded once, local API on a unix socket)"
    )
    actions = daemon.add_subparsers(dest="daemon_command", metavar="ACTION", required=True)
    start = actions.add_parser("start", help="start the daemon in the background")
    start.add_argument("--foreground", action="store_true",
                       help="run in this process until SIGTERM/Ctrl-C, logging to stderr (for service managers)")
    start.add_argument("--wait", action="store_true", help="return only when the models are loaded")
    command(start, start_command)
    command(actions.add_parser("stop", help="stop the daemon (answers in progress are kept, marked incomplete)"),
            stop_command)
    status = actions.add_parser("status", help="loading or ready, the cloud's state, the store (exit 3 if not running)")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    command(status, status_command)
    logs = actions.add_parser("logs", help="show the background daemon's log")
    logs.add_argument("-n", "--lines", type=int, default=40, metavar="N", help="last N lines (default 40)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines (Ctrl-C stops)")
    command(logs, logs_command)
    service = actions.add_parser("install-service",
                                 help="write a systemd user unit and print how to enable it (does not enable it)")
    command(service, install_service_command)


def start_command(args: argparse.Namespace, config: Config) -> int:
    """Start the daemon in the background (or run it here with --foreground); one already running is not an error."""
    from edge_agent.daemon import DaemonClient
    from edge_agent.daemon.files import log_path
    from edge_agent.daemon.process import DaemonProcess, wait_ready
    from edge_agent.daemon.server import run_foreground

    if args.foreground:
        return run_foreground(config)
    socket_path = config.daemon.socket_path()
    with DaemonClient(socket_path) as client:
        if client.available():
            print(f"tandem daemon: already running (pid {client.status()['pid']}) on {socket_path}")
            return 0
    process = DaemonProcess(socket_path, log_path(), config_file=args.config).start()
    print(f"tandem daemon: started (pid {process.pid}) on {socket_path}; loading {config.edge.model}", flush=True)
    if args.wait:
        status = wait_ready(socket_path, timeout=600, process=process)
        print(f"tandem daemon: ready ({status['model']} loaded in {status['load_s']:.1f}s)")
    else:
        print("tandem daemon: `tandem daemon status` says when it is ready; `tandem daemon logs` shows its log")
    return 0


def stop_command(args: argparse.Namespace, config: Config) -> int:
    """Stop the daemon answering on the socket, if any; exit 0 either way."""
    from edge_agent.daemon.process import stop_daemon

    socket_path = config.daemon.socket_path()
    pid = stop_daemon(socket_path)
    print(f"tandem daemon: stopped (pid {pid})" if pid else f"tandem daemon: not running (no daemon on {socket_path})")
    return 0


def status_command(args: argparse.Namespace, config: Config) -> int:
    """Print the daemon's status (or JSON); exit 3 (EXIT_NOT_RUNNING) when no daemon answers."""
    from edge_agent.daemon import DaemonClient

    socket_path = config.daemon.socket_path()
    with DaemonClient(socket_path) as client:
        status = client.status() if client.available() else None
    if args.json:
        print(json.dumps(status or {"state": "stopped", "socket": str(socket_path)}, indent=2))
    elif status is None:
        print(f"daemon:  not running (socket {socket_path}); `tandem daemon start` starts it")
    else:
        print(format_status(status))
    return 0 if status else EXIT_NOT_RUNNING


def format_status(status: dict) -> str:
    """The multi-line, human-readable view of a daemon status dict."""
    state = status["state"]
    if state == "ready":
        state += f", models loaded in {status['load_s']:.1f}s"
    elif state == "error":
        state += f": {status['error']}"
    cloud = f"{status['cloud']} ({status['cloud_address']})"
    if status["cloud_detail"]:
        cloud += f": {status['cloud_detail']}"
    return "\n".join([
        f"daemon:  {state} (pid {status['pid']}, up {_duration(status['uptime_s'])})",
        f"model:   {status['model']}",
        f"cloud:   {cloud}",
        f"socket:  {status['socket']}",
        f"store:   {status['store']} ({status['items']} context item(s), {status['conversations']} conversation(s))",
        f"answers: {status['active_requests']} running",
    ])


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m"


def logs_command(args: argparse.Namespace, config: Config) -> int:
    """Print the last N lines of the background daemon's log; with --follow, keep printing until Ctrl-C."""
    from edge_agent.daemon.files import log_path

    path = log_path()
    if not path.exists():
        print(f"no daemon log at {path} (under systemd: `journalctl --user -u tandem`)")
        return 0
    with open(path, encoding="utf-8", errors="replace") as log:
        lines = log.readlines()
        sys.stdout.writelines(lines[-args.lines:] if args.lines > 0 else [])
        sys.stdout.flush()
        while args.follow:
            line = log.readline()
            if line:
                sys.stdout.write(line)
                sys.stdout.flush()
            else:
                time.sleep(0.5)
    return 0


def install_service_command(args: argparse.Namespace, config: Config) -> int:
    """Write (or update) the systemd user unit and print how to enable it; nothing is enabled."""
    from edge_agent.daemon.systemd import UNIT_NAME, install, unit_path

    existed = unit_path().exists()
    path = install(config_file=args.config)
    print(f"{'updated' if existed else 'wrote'} {path}")
    print("It is not enabled. To start the daemon now and at every login:")
    print(f"  systemctl --user daemon-reload && systemctl --user enable --now {UNIT_NAME}")
    print(f"Logs: journalctl --user -u {UNIT_NAME} -f")
    return 0

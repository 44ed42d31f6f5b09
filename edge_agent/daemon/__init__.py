"""The edge daemon: the edge agent in the background, its models loaded once, a local gRPC
API on a unix socket only the user can open, and the private store it answers from.

- `client.DaemonClient`: what the CLI and the TUI use to talk to it.
- `server.Daemon` / `server.run_foreground`: the daemon itself.
- `process.DaemonProcess`: start and stop it as a background process.
- `systemd.unit_text`: the systemd user unit `tandem daemon install-service` writes.
"""

from edge_agent.daemon.client import DaemonClient, DaemonError, DaemonEvent

__all__ = ["DaemonClient", "DaemonError", "DaemonEvent"]

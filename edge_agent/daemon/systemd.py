"""The systemd user unit for the daemon (`tandem daemon install-service` writes it, never enables it)."""

from __future__ import annotations

import os
from pathlib import Path

from edge_agent.daemon.process import foreground_command

UNIT_NAME = "tandem.service"
PASSED_ENV = ("TANDEM_CONFIG", "TANDEM_MODELS_DIR")  # where to find things, if the user moved them


def unit_path() -> Path:
    """`$XDG_CONFIG_HOME/systemd/user/tandem.service` (default `~/.config/systemd/user/...`)."""
    config_home = os.environ.get("XDG_CONFIG_HOME", "").strip() or str(Path.home() / ".config")
    return Path(config_home) / "systemd" / "user" / UNIT_NAME


def _quote(arg: str, in_command: bool = True) -> str:
    """systemd quoting: double quotes when needed; `%` specifiers (and `$` in commands) escaped."""
    escaped = arg.replace("%", "%%")
    if in_command:
        escaped = escaped.replace("$", "$$")
    if arg and not any(c in arg for c in ' \t"\\\';'):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_text(config_file: str | None = None) -> str:
    exec_start = " ".join(_quote(arg) for arg in foreground_command(config_file))
    env_lines = "".join(
        f"Environment={_quote(f'{name}={os.environ[name]}', in_command=False)}\n" for name in PASSED_ENV if os.environ.get(name)
    )
    return (
        "[Unit]\n"
        "Description=tandem edge daemon (local model, private context store, local API)\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={exec_start}\n"
        f"{env_lines}"
        "UMask=0077\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        "TimeoutStopSec=30\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def install(config_file: str | None = None, path: Path | None = None) -> Path:
    """Write the unit file (replacing an older one); return its path."""
    path = path or unit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(config_file), encoding="utf-8")
    return path

"""`tandem daemon install-service`: writes a user unit that runs the foreground daemon; enables nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_install_service_writes_the_unit_and_only_prints_how_to_enable_it(isolated_dirs: Path,
                                                                          tmp_path: Path) -> None:
    config = tmp_path / "my config.toml"
    config.write_text("[edge]\nmax_tokens = 64\n")
    result = subprocess.run(
        [sys.executable, "-m", "runtime.cli", "--config", str(config), "daemon", "install-service"],
        capture_output=True, text=True, env=os.environ.copy(), timeout=60,
    )
    assert result.returncode == 0, result.stderr
    unit = isolated_dirs / "config" / "systemd" / "user" / "tandem.service"
    assert result.stdout.splitlines()[0] == f"wrote {unit}"
    assert "systemctl --user daemon-reload && systemctl --user enable --now tandem.service" in result.stdout
    text = unit.read_text()
    assert f'ExecStart={sys.executable} -m runtime.cli --config "{config}" daemon start --foreground' in text
    assert "WantedBy=default.target" in text and "UMask=0077" in text
    assert not (unit.parent / "default.target.wants").exists()  # not enabled

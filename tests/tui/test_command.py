"""`tandem chat` as a user runs it: in a real pseudo-terminal, and refused without one."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path


def test_chat_needs_a_terminal():
    done = subprocess.run([sys.executable, "-m", "runtime.cli", "chat"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == "tandem: error: chat needs an interactive terminal (use `tandem ask` in scripts)"


def test_chat_with_a_missing_model_is_a_one_line_error(tmp_path: Path):
    primary, secondary = pty.openpty()
    done = subprocess.run([sys.executable, "-m", "runtime.cli", "chat", "--in-process", "--model",
                           str(tmp_path / "nope.gguf")], stdin=secondary, stdout=secondary, stderr=subprocess.PIPE,
                          text=True, timeout=60)
    os.close(primary)
    os.close(secondary)
    assert done.returncode == 1
    assert done.stderr.startswith("tandem: error: ") and "nope.gguf" in done.stderr
    assert "Traceback" not in done.stderr


def test_chat_opens_in_a_terminal_and_quits_with_ctrl_q(smol_path: Path):
    env = dict(os.environ, TANDEM_EDGE_MODEL="smollm2-135m", TANDEM_EDGE_N_THREADS="1", TERM="xterm-256color",
               TANDEM_CLOUD_ADDRESS="127.0.0.1:9")
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "runtime.cli", "chat", "--in-process"],
                            stdin=secondary, stdout=secondary, stderr=secondary, env=env, start_new_session=True)
    os.close(secondary)
    screen = b""
    try:
        deadline = time.monotonic() + 60
        while b"ready" not in screen or b"in-process" not in screen:
            assert time.monotonic() < deadline, f"the chat did not come up: {screen[-500:]!r}"
            if select.select([primary], [], [], 0.2)[0]:
                screen += os.read(primary, 65536)
        os.write(primary, b"\x11")  # Ctrl+Q
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([primary], [], [], 0.2)[0]:
                try:
                    os.read(primary, 65536)
                except OSError:
                    break
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    assert b"smollm2-135m" in screen and b"cloud" in screen

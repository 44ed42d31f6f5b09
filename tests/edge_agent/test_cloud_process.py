"""CloudProcess: a real `tandem cloud serve` child, and what happens to it when its parent is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# The parent waits in short sleeps, as a benchmark's main thread runs Python between
# short calls: the kernel may hand SIGTERM to one of grpc's threads, and then the Python
# handler runs in the main thread only when its current C call returns (one long
# time.sleep(120) made this test hang about one run in four).
PARENT = """
import sys, time
from edge_agent.cloud_process import CloudProcess
with CloudProcess(model=sys.argv[1]) as cloud:
    print(cloud.proc.pid, flush=True)
    for _ in range(600):
        time.sleep(0.2)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_to_the_parent_stops_the_cloud_child(smol_path: Path) -> None:
    # A benchmark or `tandem demo` killed with SIGTERM used to leave its cloud running.
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(smol_path)], stdout=subprocess.PIPE, text=True)
    try:
        child_pid = int(parent.stdout.readline())
        assert _alive(child_pid)
        parent.send_signal(signal.SIGTERM)
        parent.wait(timeout=60)
        for _ in range(100):
            if not _alive(child_pid):
                break
            time.sleep(0.1)
        else:
            os.kill(child_pid, signal.SIGKILL)
            raise AssertionError("the cloud child outlived its parent")
    finally:
        if parent.poll() is None:
            parent.kill()

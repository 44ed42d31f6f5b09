"""A cloud host installs tandem without the `edge` extra: `tandem cloud serve` must not need it.

The test runs the real command in a child whose imports of the edge's optional packages fail
(a meta-path finder installed by a sitecustomize module on the child's PYTHONPATH), as they
would where `pip install tandem` left them out, and checks that the service answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from edge_agent.cloud_process import free_port, health_status, terminate
from protos import tandem_pb2 as pb
from protos import tandem_pb2_grpc as pb_grpc
from runtime.cli import EXTRAS

EDGE_ONLY = sorted(name for name, extra in EXTRAS.items() if extra in ("edge", "bench"))

BLOCKER = f'''
import importlib.abc, sys
BLOCKED = {EDGE_ONLY!r}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not installed on this cloud host)", name=name)
        return None
sys.meta_path.insert(0, Blocker())
'''


@pytest.fixture
def cloud_host_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))


def test_the_blocker_really_blocks(cloud_host_env: dict[str, str]) -> None:
    probe = subprocess.run([sys.executable, "-c", "import textual"], env=cloud_host_env, capture_output=True, text=True)
    assert probe.returncode != 0 and "not installed on this cloud host" in probe.stderr


def test_cloud_serve_runs_without_the_edge_extra(smol_path: Path, cloud_host_env: dict[str, str]) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "runtime.cli", "cloud", "serve", "--port", str(port), "--model", str(smol_path)],
        env=cloud_host_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while health_status(f"127.0.0.1:{port}") != "SERVING":
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the cloud did not start"
            time.sleep(0.2)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = pb_grpc.CloudModelStub(channel).Info(pb.InfoRequest(), timeout=10)
        assert info.model_id and "generate" in info.capabilities
    finally:
        terminate(proc, timeout=10)


@pytest.mark.parametrize("command", [["chat"], ["context", "add", "--note", "Landlord: Mr. Holm"]])
def test_an_edge_command_on_a_cloud_host_says_which_extra_to_install(
    command: list[str], cloud_host_env: dict[str, str]
) -> None:
    done = subprocess.run([sys.executable, "-m", "runtime.cli", *command],
                          env=cloud_host_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "pip install 'tandem[edge]'" in done.stderr and "Traceback" not in done.stderr

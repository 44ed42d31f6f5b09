"""Cloud services for the tests: `serving(config)` in process, and a real OpenAI-compatible
upstream for the `openai` backend: llama-cpp-python's own server.

It runs `python -m llama_cpp.server` (the `[server]` extra) on loopback with the
SmolLM2-135M test model, once per test session.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cloud_service.server import CloudServer, start_server
from cloud_service.settings import ServerConfig
from edge_agent.cloud_process import free_port, terminate

UPSTREAM_ALIAS = "SmolLM2-135M-Instruct.Q4_1.gguf"  # the name the embedded backend reports too


@contextlib.asynccontextmanager
async def serving(config: ServerConfig) -> AsyncIterator[CloudServer]:
    """A cloud service in this process on loopback, its model loaded; stopped (no grace) on exit."""
    server = await start_server(config)
    try:
        await server.load_model()
        yield server
    finally:
        await server.stop(0)


def start_upstream(model: Path, log_path: Path, n_ctx: int = 1024, api_key: str = "") -> tuple[subprocess.Popen, str]:
    """Start llama_cpp.server; wait until GET /v1/models answers. Returns (process, base URL)."""
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", UPSTREAM_ALIAS,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", "1",
        "--n_threads_batch", "1", "--logits_all", "true", "--verbose", "false",
    ] + (["--api_key", api_key] if api_key else [])
    log = log_path.open("wb")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
            if httpx.get(f"{url}/models", headers=headers, timeout=1.0).is_success:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    terminate(proc, 5)
    raise RuntimeError(f"llama_cpp.server did not answer within 120 s: {log_path.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def upstream_url(smol_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """Base URL of a running llama_cpp.server (OpenAI-compatible) with the SmolLM2 model."""
    proc, url = start_upstream(smol_path, tmp_path_factory.mktemp("upstream") / "server.log")
    yield url
    terminate(proc, 10)

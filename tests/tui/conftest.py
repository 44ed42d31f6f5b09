"""The chat app with real parts: SmolLM2 as the edge model, a real store, a real cloud process when needed.

The edge model and the embedder load once per session and are shared by every app;
each test gets its own store, audit log and config. Models run on one thread each: on a
busy 2-core machine llama.cpp's spinning threads make two threads several times slower
than one (measured: 16 tokens of SmolLM2 took 2.3-30 s with 2 threads, 0.4-1.8 s with 1).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.agent import EdgeAgent
from edge_agent.cloud_process import CloudProcess, free_port
from edge_agent.config import Config
from edge_agent.local_model import EdgeModel
from edge_agent.retrieval import Embedder
from edge_agent.store import Store
from tui import InProcessBackend, TandemChat

SIZE = (80, 24)  # the smallest terminal the chat is designed for


@pytest.fixture(scope="session")
def smol_model(smol_path: Path) -> EdgeModel:
    model = EdgeModel(smol_path, n_ctx=2048, n_threads=1)
    yield model
    model.close()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder().load()


@pytest.fixture(scope="module")
def cloud(smol_path: Path) -> CloudProcess:
    """A real `tandem cloud serve` with SmolLM2 on loopback."""
    env = dict(os.environ, TANDEM_SERVER_N_CTX="2048", TANDEM_SERVER_N_THREADS="1")
    with CloudProcess(model=str(smol_path), env=env) as process:
        yield process


def make_config(tmp_path: Path, smol_path: Path, cloud_address: str | None = None, max_tokens: int = 16) -> Config:
    config = Config()
    config.edge.model = "smollm2-135m"  # the catalog name (the model is in the shared model cache)
    config.edge.n_ctx = 2048
    config.edge.n_threads = 1
    config.edge.max_tokens = max_tokens
    config.edge.strategy = "edge"  # streams piece by piece, which these tests watch (checked answers whole)
    config.cloud.address = cloud_address or f"127.0.0.1:{free_port()}"  # nothing listens there
    config.cloud.connect_timeout_s = 1.0
    config.privacy.audit_log = str(tmp_path / "audit.jsonl")
    config.daemon.store = str(tmp_path / "store.sqlite3")
    return config


@pytest.fixture
def config(tmp_path: Path, smol_path: Path) -> Config:
    return make_config(tmp_path, smol_path)


@pytest.fixture
def store(config: Config, embedder: Embedder) -> Store:
    with Store(config.daemon.store_path(), embedder=embedder) as opened:
        yield opened


@pytest.fixture
def make_app(store: Store, smol_model: EdgeModel) -> Callable[..., TandemChat]:
    """`make_app(config)`: the chat on the in-process backend, sharing the loaded model and the store."""

    def make(config: Config, **kwargs) -> TandemChat:
        backend = InProcessBackend(config, store=store, agent=EdgeAgent(config, edge_model=smol_model))
        return TandemChat(backend, **kwargs)

    return make


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    """Let the app run until `condition()` holds (real models take real time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await pilot.pause(0.05)


async def settle(pilot, app: TandemChat) -> None:
    """Wait until the model is ready and the first cloud probe has answered."""
    await wait_for(pilot, lambda: app.status.model.state == "ready", what="the edge model")
    await wait_for(pilot, lambda: app.status.cloud != "checking", what="the cloud probe")


async def send(pilot, app: TandemChat, question: str) -> None:
    """Put a question in the prompt (as a paste would) and press Enter."""
    prompt = app.query_one("#prompt")
    prompt.focus()
    prompt.value = question
    await pilot.press("enter")


async def ask(pilot, app: TandemChat, question: str, timeout: float = 120.0) -> None:
    """Send a question and wait until its answer is finished."""
    before = len(app.log_view.answers)
    await send(pilot, app, question)
    await wait_for(pilot, lambda: len(app.log_view.answers) > before, what="the answer to appear")
    await wait_for(pilot, lambda: not app.generating and not app.log_view.answers[-1].streaming,
                   timeout=timeout, what="the answer to finish")
    await asyncio.sleep(0)

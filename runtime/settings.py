"""The configuration loader both packages use: one TOML file, environment overrides, clear errors.

Precedence (lowest to highest): built-in defaults, the TOML file (`--config`, `$TANDEM_CONFIG` or
`~/.config/tandem/config.toml`), environment variables named `TANDEM_<SECTION>_<KEY>` (e.g.
`TANDEM_CLOUD_ADDRESS`), and command-line flags, which each command applies on top.

The file is shared: the edge reads its sections and the cloud service reads `[server]`. Each
package describes its sections as a dataclass of dataclasses (see `edge_agent.config.Config` and
`cloud_service.settings.CloudSettings`); a section that belongs to the other package is skipped,
any other unknown section or key is an error naming the file.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from runtime import paths
from runtime.errors import ConfigError

__all__ = ["FILE_SECTIONS", "ConfigError", "Checks", "load_settings", "render_toml"]

# Every section of the config file and the package that reads it.
FILE_SECTIONS: dict[str, str] = {
    "edge": "edge_agent",
    "cloud": "edge_agent",
    "privacy": "edge_agent",
    "fuse": "edge_agent",
    "quality": "edge_agent",
    "best_of": "edge_agent",
    "daemon": "edge_agent",
    "server": "cloud_service",
}

S = TypeVar("S")


def load_settings(settings: S, path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> S:
    """Fill `settings` (a dataclass whose dataclass fields are sections) from the file and the environment.

    `path=None` uses the default location and tolerates its absence; an explicit path that
    does not exist is an error. `settings.source` names the file read and `settings.origins`
    maps "section.key" to the file or variable that set it.
    """
    environ = os.environ if environ is None else environ
    explicit = path is not None
    file = Path(path).expanduser() if explicit else paths.default_config_file()
    if file.exists():
        _apply_file(settings, file)
        settings.source = str(file)  # type: ignore[attr-defined]
    elif explicit:
        raise ConfigError(f"config file {file} does not exist")
    _apply_environ(settings, environ)
    return settings


def sections_of(settings: Any) -> dict[str, Any]:
    """The section objects of a settings dataclass, by section name."""
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)
            if dataclasses.is_dataclass(getattr(settings, f.name))}


def _apply_file(settings: Any, file: Path) -> None:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from None
    own = sections_of(settings)
    for section, values in data.items():
        if section not in FILE_SECTIONS:
            raise ConfigError(f"{file}: unknown section [{section}] (known: {', '.join(FILE_SECTIONS)})")
        if not isinstance(values, dict):
            raise ConfigError(f"{file}: '{section}' must be a table like [{section}]")
        if section not in own:
            continue  # read by the other package
        for key, value in values.items():
            _set(own[section], section, key, value, where=str(file))
            settings.origins[f"{section}.{key}"] = str(file)


def _apply_environ(settings: Any, environ: Mapping[str, str]) -> None:
    for section, target in sections_of(settings).items():
        for f in dataclasses.fields(target):
            var = f"TANDEM_{section}_{f.name}".upper()
            if var in environ:
                _set(target, section, f.name, environ[var], where=f"environment variable {var}", from_text=True)
                settings.origins[f"{section}.{f.name}"] = f"environment variable {var}"


def _set(target: Any, section: str, key: str, value: Any, where: str, from_text: bool = False) -> None:
    fields = {f.name: f for f in dataclasses.fields(target)}
    if key not in fields:
        raise ConfigError(f"{where}: unknown key '{section}.{key}' (known: {', '.join(fields)})")
    kind = type(getattr(type(target)(), key))
    try:
        setattr(target, key, _coerce(value, kind, from_text))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: '{section}.{key}' must be {_KIND_NAMES[kind]}, got {value!r}") from None


_KIND_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def _coerce(value: Any, kind: type, from_text: bool) -> Any:
    if from_text and kind is not str:
        value = value.strip()
        if kind is bool:
            lowered = value.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        return kind(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(value)
    return value


class Checks:
    """Range checks that a type check cannot catch; a failure names the key and where it was set."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def need(self, ok: bool, key: str, what: str) -> None:
        """Raise a ConfigError "<where>: '<key>' <what>" unless `ok`."""
        if not ok:
            where = self.settings.origins.get(key, self.settings.source)
            raise ConfigError(f"{where}: '{key}' {what}")


def render_toml(settings: Any) -> str:
    """The effective values of `settings` as the TOML a user would write, with where they came from."""
    lines = [f"# effective configuration (file: {settings.source}; TANDEM_<SECTION>_<KEY> variables override)"]
    for section, values in sections_of(settings).items():
        lines.append(f"\n[{section}]")
        for key, value in dataclasses.asdict(values).items():
            if isinstance(value, bool):
                rendered = str(value).lower()
            elif isinstance(value, str):
                rendered = f'"{value}"'
            else:
                rendered = str(value)
            origin = settings.origins.get(f"{section}.{key}")
            lines.append(f"{key} = {rendered}" + (f"  # from {origin}" if origin else ""))
    return "\n".join(lines)

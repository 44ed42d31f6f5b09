"""Readers for the files a config names: PEM certificates and keys, bearer-token lists.

The edge (its TLS settings and token) and the cloud service (its certificate, allowed tokens,
an upstream's API key) read the same kinds of files and want the same one-line errors, which
name the config key and the file.
"""

from __future__ import annotations

from pathlib import Path

from runtime.errors import ConfigError


def read_file(path: str, key: str) -> bytes:
    """The bytes of a file named by config `key`; a ConfigError naming the key if unreadable."""
    file = Path(path).expanduser()
    try:
        return file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"'{key}': cannot read {file}: {exc.strerror or exc}") from None


def read_pem(path: str, key: str) -> bytes:
    """A PEM file (certificate or key) named by config `key`."""
    data = read_file(path, key)
    if b"-----BEGIN " not in data:
        raise ConfigError(f"'{key}': {Path(path).expanduser()} is not a PEM file (no -----BEGIN line)")
    return data


def read_tokens(path: str, key: str) -> list[str]:
    """Bearer tokens, one a line; blank lines and # comments are ignored. At least one is required."""
    try:
        text = read_file(path, key).decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"'{key}': {Path(path).expanduser()} is not UTF-8 text") from None
    tokens = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    if not tokens:
        raise ConfigError(f"'{key}': {Path(path).expanduser()} holds no token "
                          "(one a line; blank lines and # comments are ignored)")
    bad = [t for t in tokens if not t.isascii() or any(c.isspace() for c in t)]
    if bad:
        raise ConfigError(f"'{key}': {Path(path).expanduser()}: a token must be ASCII without spaces")
    return tokens

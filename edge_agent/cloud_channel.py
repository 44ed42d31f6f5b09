"""How the edge reaches the cloud: the channel (plain, TLS or mTLS) and the bearer token.

The file readers here are shared with the cloud service, which reads the same kinds of
files (PEM certificates, token lists) and wants the same one-line errors.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from edge_agent.config import CloudConfig, ConfigError


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


def uses_tls(cloud: CloudConfig) -> bool:
    return cloud.tls or bool(cloud.ca_file or cloud.cert_file)


def open_channel(address: str, cloud: CloudConfig) -> grpc.Channel:
    """A channel to the cloud: insecure unless TLS is configured; mTLS with cert_file/key_file."""
    if not uses_tls(cloud):
        return grpc.insecure_channel(address)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=read_pem(cloud.ca_file, "cloud.ca_file") if cloud.ca_file else None,
        private_key=read_pem(cloud.key_file, "cloud.key_file") if cloud.cert_file else None,
        certificate_chain=read_pem(cloud.cert_file, "cloud.cert_file") if cloud.cert_file else None,
    )
    options = [("grpc.ssl_target_name_override", cloud.server_name)] if cloud.server_name else []
    return grpc.secure_channel(address, credentials, options=options)


def call_metadata(cloud: CloudConfig) -> tuple[tuple[str, str], ...]:
    """The metadata for every cloud call: the bearer token from cloud.token_file, if set."""
    if not cloud.token_file:
        return ()
    return (("authorization", f"Bearer {read_tokens(cloud.token_file, 'cloud.token_file')[0]}"),)

"""How the edge reaches the cloud: the channel (plain, TLS or mTLS) and the bearer token.

The files are read with `runtime.secret_files`, which the cloud service uses too.
"""

from __future__ import annotations

import grpc

from edge_agent.config import CloudConfig
from runtime.secret_files import read_pem, read_tokens


def uses_tls(cloud: CloudConfig) -> bool:
    """Whether the channel must use TLS: cloud.tls is set, or a CA file or client certificate is configured."""
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

"""The edge's channel settings and bearer token (no server needed; the TLS paths run in
tests/cloud_service/test_security.py against a real server)."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from edge_agent.cloud_channel import call_metadata, open_channel, uses_tls
from edge_agent.cloud_process import health_status
from edge_agent.config import CloudConfig, ConfigError
from runtime.secret_files import read_pem, read_tokens


def test_no_token_file_means_no_metadata() -> None:
    assert call_metadata(CloudConfig()) == ()


def test_the_token_is_the_first_line_that_is_not_a_comment(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("# issued 2024-05-01\n\n  abc123  \nsecond\n")
    assert call_metadata(CloudConfig(token_file=str(path))) == (("authorization", "Bearer abc123"),)


@pytest.mark.parametrize("content, message", [
    (None, "'cloud.token_file': cannot read"),
    ("# nothing here\n", "holds no token"),
    ("two words\n", "a token must be ASCII without spaces"),
])
def test_token_file_mistakes_name_the_key(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        call_metadata(CloudConfig(token_file=str(path)))


def test_tls_is_implied_by_a_ca_or_a_client_certificate() -> None:
    assert not uses_tls(CloudConfig())
    assert uses_tls(CloudConfig(tls=True)) and uses_tls(CloudConfig(ca_file="ca.pem"))
    assert uses_tls(CloudConfig(cert_file="c.pem", key_file="k.pem"))


def test_tls_files_must_be_readable_pem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'cloud.ca_file': cannot read"):
        open_channel("127.0.0.1:1", CloudConfig(ca_file=str(tmp_path / "missing.pem")))
    (tmp_path / "ca.pem").write_text("hello")
    with pytest.raises(ConfigError, match="'cloud.ca_file': .* is not a PEM file"):
        read_pem(str(tmp_path / "ca.pem"), "cloud.ca_file")


def test_plain_and_tls_channels_open_without_a_server(tmp_path: Path) -> None:
    with open_channel("127.0.0.1:1", CloudConfig()) as channel:
        assert isinstance(channel, grpc.Channel)
    with open_channel("127.0.0.1:1", CloudConfig(tls=True, server_name="cloud.example")) as channel:
        assert isinstance(channel, grpc.Channel)


def test_health_status_reports_a_broken_tls_setting(tmp_path: Path) -> None:
    status = health_status("127.0.0.1:1", 0.5, cloud=CloudConfig(ca_file=str(tmp_path / "missing.pem")))
    assert status.startswith("MISCONFIGURED (") and "cloud.ca_file" in status


def test_read_tokens_strips_and_skips_comments(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("a\n# b\n\n c \n")
    assert read_tokens(str(path), "server.token_file") == ["a", "c"]

"""The cloud service's settings: `[server]` of the shared config file, its overrides and its checks."""

from pathlib import Path

import pytest

from cloud_service.settings import ConfigError, load_cloud_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_no_file_exists() -> None:
    settings = load_cloud_settings(environ={})
    assert settings.server.model == "qwen2.5-coder-1.5b"
    assert settings.server.host == "127.0.0.1"
    assert settings.source == "defaults"


def test_default_location_is_xdg_config(isolated_dirs: Path) -> None:
    (isolated_dirs / "config" / "tandem").mkdir()
    (isolated_dirs / "config" / "tandem" / "config.toml").write_text("[server]\nport = 6000\n")
    assert load_cloud_settings(environ={}).server.port == 6000


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 6000\n")
    settings = load_cloud_settings(path, environ={"TANDEM_SERVER_PORT": "7000"})
    assert settings.server.port == 7000


def test_the_edges_sections_are_left_to_the_edge(tmp_path: Path) -> None:
    path = write(tmp_path, "[edge]\nstrategy = 'not a strategy'\n[server]\nport = 6001\n")
    settings = load_cloud_settings(path, environ={"TANDEM_EDGE_MAX_TOKENS": "many"})
    assert settings.server.port == 6001


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[server]\nport = 'fast'\n", "'server.port' must be a whole number"),
        ("[server]\nprot = 1\n", "unknown key 'server.prot'"),
        ("[sever]\nport = 1\n", "unknown section [sever]"),
        ("[server]\nport = 70000\n", "'server.port' must be between 0 and 65535"),
        ("[server]\nbackend = 'vllm'\n", "'server.backend' must be one of llama.cpp, openai"),
        ("[server]\nbackend = 'openai'\n", "'server.backend' is \"openai\" but server.upstream_url is not set"),
        ("[server]\nupstream_scoring = 'batch'\n", "'server.upstream_scoring' must be echo or single"),
        ("[server]\ntls_cert_file = 'a.pem'\n", "'server.tls_key_file' and server.tls_cert_file must be set together"),
        ("[server]\ntls_client_ca_file = 'ca.pem'\n", "'server.tls_client_ca_file' needs server.tls_cert_file"),
        ("[server]\nmetrics_port = 70000\n", "'server.metrics_port' must be between 0 (off) and 65535"),
    ],
)
def test_bad_file_names_key_and_file(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_cloud_settings(path, environ={})
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="environment variable TANDEM_SERVER_PORT.*whole number"):
        load_cloud_settings(environ={"TANDEM_SERVER_PORT": "many"})

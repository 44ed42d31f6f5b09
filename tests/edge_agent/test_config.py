"""The edge's config: defaults, the TOML file, environment overrides, and errors that name the key and file.

The loader is `runtime.settings`; the `[server]` section of the same file is the cloud service's
(tests/cloud_service/test_settings.py).
"""

from pathlib import Path

import pytest

from edge_agent.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_no_file_exists() -> None:
    config = load_config(environ={})
    assert config.edge.model == "qwen2.5-coder-0.5b"
    assert config.cloud.allow_context is False
    assert config.source == "defaults"


def test_file_values_and_int_to_float(tmp_path: Path) -> None:
    path = write(tmp_path, '[edge]\nmodel = "smollm2-135m"\ntemperature = 1\n[cloud]\naddress = "10.0.0.1:9"\n')
    config = load_config(path, environ={})
    assert (config.edge.model, config.edge.temperature, config.cloud.address) == ("smollm2-135m", 1.0, "10.0.0.1:9")
    assert config.source == str(path)


def test_default_location_is_xdg_config(isolated_dirs: Path) -> None:
    (isolated_dirs / "config" / "tandem").mkdir()
    (isolated_dirs / "config" / "tandem" / "config.toml").write_text("[edge]\nmax_tokens = 77\n")
    assert load_config(environ={}).edge.max_tokens == 77


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[edge]\nmax_tokens = 77\n")
    config = load_config(path, environ={"TANDEM_EDGE_MAX_TOKENS": "88", "TANDEM_CLOUD_ALLOW_CONTEXT": "yes"})
    assert config.edge.max_tokens == 88
    assert config.cloud.allow_context is True
    assert config.origins["edge.max_tokens"] == "environment variable TANDEM_EDGE_MAX_TOKENS"


def test_the_servers_section_is_left_to_the_cloud_service(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 'not even a number'\n[edge]\nmax_tokens = 9\n")
    config = load_config(path, environ={"TANDEM_SERVER_PORT": "also wrong"})
    assert config.edge.max_tokens == 9
    assert not hasattr(config, "server")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[edge]\nmodle = 'x'\n", "unknown key 'edge.modle'"),
        ("[edge]\nmax_tokens = 'many'\n", "'edge.max_tokens' must be a whole number"),
        ("[fuse]\ntop_k = 500\n", "'fuse.top_k' must be between 1 and 100"),
        ("[edge]\ntemperature = 3.5\n", "'edge.temperature' must be between 0 and 2"),
        ("[egde]\nmodel = 'x'\n", "unknown section [egde]"),
        ("[cloud]\nallow_context = 'yes'\n", "'cloud.allow_context' must be true or false"),
        ("[edge]\nstrategy = 'magic'\n", "'edge.strategy' must be one of"),
        ("[edge\nmodel = 1\n", "not valid TOML"),
        ("[cloud]\ncert_file = 'edge.pem'\n", "'cloud.key_file' and cloud.cert_file must be set together"),
    ],
)
def test_bad_file_names_key_and_file(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="environment variable TANDEM_EDGE_MAX_TOKENS.*whole number"):
        load_config(environ={"TANDEM_EDGE_MAX_TOKENS": "many"})


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_range_error_from_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="environment variable TANDEM_EDGE_STRATEGY: 'edge.strategy' must be one of"):
        load_config(environ={"TANDEM_EDGE_STRATEGY": "magic"})


def test_fuse_section_is_validated(tmp_path: Path) -> None:
    path = write(tmp_path, "[fuse]\nrule = 'proxy'\n")
    with pytest.raises(ConfigError, match="'fuse.base_model' must name the base model"):
        load_config(path, environ={})

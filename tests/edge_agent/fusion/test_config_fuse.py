"""The [fuse] section's keys: defaults, and errors that name the key and the file."""

from pathlib import Path

import pytest

from edge_agent.config import ConfigError, load_config


def test_fuse_defaults() -> None:
    fuse = load_config(environ={}).fuse
    assert (fuse.mode, fuse.rule) == ("selective", "delta")
    assert 0 < fuse.confidence < 1 and fuse.ahead >= 0 and fuse.alpha > 0
    assert fuse.finish is True
    assert load_config(environ={"TANDEM_FUSE_FINISH": "false"}).fuse.finish is False


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[fuse]\nmode = 'fast'\n", "'fuse.mode' must be one of selective, exact"),
        ("[fuse]\nrule = 'mean'\n", "'fuse.rule' must be one of fixed, entropy, gate, proxy, delta"),
        ("[fuse]\nconfidence = 1.5\n", "'fuse.confidence' must be between 0 and 1"),
        ("[fuse]\nconfidence = 'high'\n", "'fuse.confidence' must be a number"),
        ("[fuse]\nalpha = 0\n", "'fuse.alpha' must be above 0 and at most 10"),
        ("[fuse]\nahead = -1\n", "'fuse.ahead' must be between 0 (off) and 256 tokens"),
        ("[fuse]\nfinish = 'yes'\n", "'fuse.finish' must be true or false"),
    ],
)
def test_bad_fuse_keys_name_key_and_file(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert expected in str(error.value) and str(path) in str(error.value)


def test_environment_overrides_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="TANDEM_FUSE_MODE: 'fuse.mode' must be one of"):
        load_config(environ={"TANDEM_FUSE_MODE": "fast"})

"""The README's promises: its config example is valid, its two commands exist, CI runs the test one."""

import re
from pathlib import Path

from cloud_service.settings import load_cloud_settings
from edge_agent.config import load_config
from runtime.settings import FILE_SECTIONS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_config_example_loads_and_covers_the_documented_sections(tmp_path: Path) -> None:
    block = re.search(r"## Configuration.*?```toml\n(.*?)```", README, re.S).group(1)
    path = tmp_path / "config.toml"
    path.write_text(block, encoding="utf-8")
    config = load_config(path, environ={})
    load_cloud_settings(path, environ={})
    documented = set(re.findall(r"^\[(\w+)\]", block, re.M))
    assert documented <= set(FILE_SECTIONS)
    assert config.cloud.allow_context is False


def test_the_two_commands_are_make_targets_and_ci_runs_the_test_one() -> None:
    commands = re.search(r"## The two commands.*?```sh\n(.*?)```", README, re.S).group(1)
    targets = re.findall(r"^make (\w+)", commands, re.M)
    assert targets == ["demo", "test"]
    makefile = (ROOT / "Makefile").read_text()
    for target in targets:
        assert re.search(rf"^{target}:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()

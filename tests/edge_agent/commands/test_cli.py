"""`tandem` as a user runs it: real subprocesses, real models, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.cloud_process import CloudProcess


def tandem(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runtime.cli", *args], capture_output=True, text=True,
                          env=env or os.environ.copy(), timeout=timeout)


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("Name: Priya Raman\nDentist appointment on March 14 at 3:30 pm\n", encoding="utf-8")
    return path


def small_edge_env() -> dict[str, str]:
    return dict(os.environ, TANDEM_EDGE_MODEL="smollm2-135m", TANDEM_EDGE_N_CTX="2048")


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tandem: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_help_lists_the_commands() -> None:
    result = tandem("--help")
    assert result.returncode == 0
    for command in ("ask", "models", "cloud", "audit", "config", "demo", "bench"):
        assert command in result.stdout


@pytest.mark.slow  # loads a model in a subprocess
def test_ask_answers_with_the_default_strategy_and_reports(notes: Path) -> None:
    result = tandem("ask", "When is my dentist appointment?", "--context", str(notes), "--max-tokens", "12",
                    env=small_edge_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    # the default strategy (slots) with no cloud configured: the edge answers alone (checked) and says so
    assert "strategy: slots" in result.stderr and "edge-only fallback" in result.stderr
    assert "nothing was sent to the cloud" in result.stderr and "-- notes used:" in result.stderr


def test_cloud_public_then_audit_shows_the_redacted_payload(notes: Path, smol_path: Path) -> None:
    env = small_edge_env()
    with CloudProcess(model=str(smol_path), env=dict(env, TANDEM_SERVER_N_CTX="2048")) as cloud:
        result = tandem("ask", "Text Priya Raman that I am running late.", "--context", str(notes),
                        "--strategy", "cloud-public", "--cloud", cloud.address, "--max-tokens", "12", env=env)
    assert result.returncode == 0, result.stderr
    assert "1 RPC(s) to the cloud (Generate)" in result.stderr
    audit = tandem("audit", "--last", "1", env=env)
    assert audit.returncode == 0
    assert "/tandem.v1.CloudModel/Generate" in audit.stdout and "[PERSON_1]" in audit.stdout
    assert "Priya" not in audit.stdout


def test_bad_config_names_the_key_and_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[edge]\nmax_tokens = 'lots'\n")
    result = tandem("--config", str(config), "ask", "hi")
    assert result.returncode == 2
    assert_one_line_error(result, "'edge.max_tokens' must be a whole number", str(config))


def test_missing_context_file_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(tandem("ask", "hi", "--context", str(tmp_path / "absent.txt")), "does not exist")


def test_binary_context_file_is_refused(tmp_path: Path) -> None:
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\x00\x10JFIF\x00")
    assert_one_line_error(tandem("ask", "hi", "--context", str(binary)), "looks binary")


def test_missing_model_says_how_to_install(tmp_path: Path) -> None:
    env = dict(os.environ, TANDEM_MODELS_DIR=str(tmp_path / "empty"))
    assert_one_line_error(tandem("ask", "hi", env=env), "tandem models install qwen2.5-coder-0.5b")


@pytest.mark.slow  # loads a model in a subprocess
def test_opt_in_strategy_refused_by_default() -> None:
    result = tandem("ask", "hi", "--strategy", "cloud-with-context", env=small_edge_env())
    assert_one_line_error(result, "allow_context = true")


def test_cloud_serve_with_a_bad_model_fails_cleanly(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"nope")
    assert_one_line_error(tandem("cloud", "serve", "--port", "0", "--model", str(fake)), "not a GGUF file")

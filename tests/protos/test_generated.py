"""The committed generated code must match what `python -m protos.generate` writes now."""

from pathlib import Path

from protos.generate import PROTO_DIR, PROTOS, generate


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    written = generate(tmp_path)
    assert len(written) == 3 * len(PROTOS)
    for fresh in written:
        committed = PROTO_DIR / fresh.name
        assert committed.exists(), f"{committed.name} is missing: run `python -m protos.generate`"
        assert committed.read_text() == fresh.read_text(), (
            f"{committed.name} is stale: run `python -m protos.generate` and commit the result"
        )

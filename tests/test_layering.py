"""Imports flow one way: tui -> edge_agent -> runtime/protos <- cloud_service; tooling sits above all.

Every `import` and `from ... import` in each package (lazy ones inside functions included) is
read from the source with `ast`, so a reversal fails here before it becomes a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("runtime", "protos", "edge_agent", "cloud_service", "tui", "bench", "tools")

# package -> the packages of ours it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "runtime": set(),
    "protos": set(),
    "cloud_service": {"runtime", "protos"},
    "edge_agent": {"runtime", "protos"},
    "tui": {"edge_agent", "runtime", "protos"},
    "bench": {"edge_agent", "cloud_service", "runtime", "protos"},
    "tools": {"edge_agent", "runtime", "protos", "bench"},
}


def imported_packages(path: Path) -> set[str]:
    """The top-level packages of ours that a module imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in OURS)
    return found


def modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "_pb2" not in p.name)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_sits_below_it(package: str) -> None:
    assert modules(package), f"no modules found in {package}/"
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - ALLOWED[package] - {package})
        for path in modules(package)
    }
    assert {path: bad for path, bad in wrong.items() if bad} == {}


def test_the_check_sees_a_lazy_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from cloud_service.server import serve\n    import tui.app\n")
    assert imported_packages(module) == {"cloud_service", "tui"}

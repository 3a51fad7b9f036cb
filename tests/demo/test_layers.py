"""The hub's own packages do not import the connectors: only the command line, the demo
and the sandbox (which run connectors) may. The agreements used to, for sample events."""

from __future__ import annotations

import ast
from pathlib import Path

HUB = Path(__file__).resolve().parents[2] / "hub"
MAY_IMPORT_CONNECTORS = {"cli", "demo", "sandbox"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_only_the_runners_import_connectors() -> None:
    offenders = sorted(
        str(path.relative_to(HUB.parent))
        for path in HUB.rglob("*.py")
        if path.relative_to(HUB).parts[0] not in MAY_IMPORT_CONNECTORS
        and any(m == "connectors" or m.startswith("connectors.") for m in _imports(path))
    )
    assert offenders == []


def test_the_scan_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from connectors.synthetic import samples\n")
    assert "connectors.synthetic" in _imports(module)

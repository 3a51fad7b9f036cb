"""The seams in docs/architecture.md, held by the imports themselves.

The pure policy engine does no I/O; the analytics and the console share the codec and
admission with the processor without importing it (so a console host needs no processor);
the agreements do not depend on the connectors. Read from the source with ``ast``, so
imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> module prefixes it must not import
RULES: dict[str, tuple[str, ...]] = {
    "hub/policy": ("confluent_kafka", "faust", "hub.processor", "hub.kafka", "sqlalchemy"),
    "hub/privacy": ("confluent_kafka", "faust", "hub.processor", "hub.kafka"),
    "hub/analytics": ("hub.processor",),
    "hub/console": ("hub.processor",),
    "hub/agreements": ("connectors",),
    "hub/codec": ("hub.processor",),
    "hub/kafka": ("hub.processor",),
}


def imported(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def _cases() -> list[tuple[str, str]]:
    return [
        (str(p.relative_to(ROOT)), package)
        for package in RULES
        for p in sorted((ROOT / package).rglob("*.py"))
    ]


@pytest.mark.parametrize(("module", "package"), _cases())
def test_no_import_crosses_a_seam(module: str, package: str) -> None:
    banned = RULES[package]
    crossing = sorted(
        name
        for name in imported(ROOT / module)
        if any(name == b or name.startswith(b + ".") for b in banned)
    )
    assert not crossing, f"{module} imports {crossing}: {package} must not depend on them"


def test_every_package_named_exists() -> None:
    # A renamed package would make its rule pass vacuously.
    assert all((ROOT / p).is_dir() and any((ROOT / p).rglob("*.py")) for p in RULES)

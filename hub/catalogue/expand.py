"""Shared named types (``schemas/avro/common``) expanded into standalone event schemas.

Partners register and use one self-contained schema per event type, so a stock Confluent
serializer in any language works without schema references. The first use of a named
type inlines its definition; later uses refer to it by full name, as Avro requires.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hub.errors import ConfigError

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED = frozenset({"record", "enum", "fixed", "error"})


def full_name(node: dict[str, Any], enclosing_ns: str | None) -> str:
    name: str = node["name"]
    if "." in name:
        return name
    ns = node.get("namespace", enclosing_ns)
    return f"{ns}.{name}" if ns else name


def _namespace_of(full: str) -> str | None:
    return full.rsplit(".", 1)[0] if "." in full else None


def collect_named(node: Any, ns: str | None, out: dict[str, dict[str, Any]]) -> None:
    """Every named type defined anywhere in ``node``, by full name."""
    if isinstance(node, list):
        for item in node:
            collect_named(item, ns, out)
    elif isinstance(node, dict):
        kind = node.get("type")
        if kind in NAMED:
            full = full_name(node, ns)
            out[full] = node
            for f in node.get("fields", []):
                collect_named(f["type"], _namespace_of(full), out)
        elif kind == "array":
            collect_named(node["items"], ns, out)
        elif kind == "map":
            collect_named(node["values"], ns, out)
        elif isinstance(kind, dict | list):
            collect_named(kind, ns, out)


def load_named_types(folder: Path) -> dict[str, dict[str, Any]]:
    named: dict[str, dict[str, Any]] = {}
    if not folder.is_dir():
        return named
    for path in sorted(folder.glob("*.avsc")):
        try:
            schema = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
        if not isinstance(schema, dict) or schema.get("type") not in NAMED:
            raise ConfigError(f"{path}: a shared type must be a named record, enum or fixed")
        collect_named(schema, None, named)
    return named


def expand(node: Any, named: dict[str, dict[str, Any]], ns: str | None, defined: set[str]) -> Any:
    """Return ``node`` with every reference to a not-yet-defined named type inlined."""
    if isinstance(node, str):
        if node in PRIMITIVES:
            return node
        full = node if "." in node else (f"{ns}.{node}" if ns else node)
        if full in defined:
            return full
        if full not in named:
            raise ConfigError(f"unknown type '{node}': define it in schemas/avro/common")
        definition = copy.deepcopy(named[full])
        definition.setdefault("namespace", _namespace_of(full))
        return expand(definition, named, ns, defined)
    if isinstance(node, list):
        return [expand(item, named, ns, defined) for item in node]
    if isinstance(node, dict):
        kind = node.get("type")
        if kind in NAMED:
            full = full_name(node, ns)
            if full in defined:
                return full
            defined.add(full)
            inner_ns = _namespace_of(full)
            for f in node.get("fields", []):
                f["type"] = expand(f["type"], named, inner_ns, defined)
            return node
        if kind == "array":
            node["items"] = expand(node["items"], named, ns, defined)
        elif kind == "map":
            node["values"] = expand(node["values"], named, ns, defined)
        elif isinstance(kind, str) and kind not in PRIMITIVES:
            return expand(kind, named, ns, defined)
        elif isinstance(kind, dict | list):
            node["type"] = expand(kind, named, ns, defined)
        return node
    raise ConfigError(f"not an Avro type: {node!r}")


def standalone(schema: dict[str, Any], named: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return expand(copy.deepcopy(schema), named, None, set())  # type: ignore[no-any-return]

"""Avro schema compatibility: can a reader schema read data written with a writer schema?

Pure functions, no I/O. :func:`incompatibilities` applies the Avro 1.11 "Schema Resolution"
rules and explains every way resolution would fail; :func:`check_compatibility` applies a
Confluent compatibility level (BACKWARD, FORWARD_TRANSITIVE, ...) to a new schema and the
subject's earlier ones.

Named types are compared as the spec, Java Avro (which Confluent's registry uses) and
fastavro (which the hub decodes with) all do at read time: by unqualified name, or by the
writer's full name appearing among the reader's aliases. References to named types inside
a schema are resolved by full name. Logical types are ignored: only the underlying type
decides whether bytes can be read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED_KINDS = {"record": "record", "error": "record", "enum": "enum", "fixed": "fixed"}
# Writer type -> reader types it may be read as (the spec's promotions).
PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}
_WIDENINGS = "int to long/float/double, long to float/double, float to double, string to/from bytes"

COMPATIBILITY_LEVELS: tuple[str, ...] = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)
NEW_SCHEMA = "the new schema"


class UnresolvableSchema(ValueError):
    """The schema refers to a named type it never defines, or is not an Avro schema."""


@dataclass(frozen=True)
class Roles:
    """How messages name the two schemas, and which one is the change being proposed.

    Fix hints are aimed at the proposed side (``changed``): the other one is already
    registered and cannot be edited.
    """

    reader: str = "the reader schema"
    writer: str = "the writer schema"
    changed: Literal["reader", "writer"] = "reader"


@dataclass(frozen=True)
class _Type:
    kind: str  # a primitive name, "record", "enum", "fixed", "array", "map" or "union"
    node: Any  # the JSON node
    ns: str | None  # namespace that names inside this type resolve in
    name: str = ""  # full name, for named types

    @property
    def simple_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


def _full_name(name: str, namespace: Any, enclosing: str | None) -> str:
    if "." in name:
        return name
    ns = enclosing if namespace is None else namespace
    return f"{ns}.{name}" if ns else name


def _namespace_of(full: str) -> str | None:
    return full.rsplit(".", 1)[0] if "." in full else None


class _Names:
    """Every named type a schema defines, by full name, to resolve references."""

    def __init__(self, schema: Any) -> None:
        self._defs: dict[str, dict[str, Any]] = {}
        self._collect(schema, None)

    def _collect(self, node: Any, ns: str | None) -> None:
        if isinstance(node, list):
            for branch in node:
                self._collect(branch, ns)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind in _NAMED_KINDS:
                full = _full_name(str(node.get("name", "")), node.get("namespace"), ns)
                self._defs[full] = node
                for f in node.get("fields", []):
                    self._collect(f.get("type"), _namespace_of(full))
            elif kind == "array":
                self._collect(node.get("items"), ns)
            elif kind == "map":
                self._collect(node.get("values"), ns)
            elif isinstance(kind, dict | list):
                self._collect(kind, ns)

    def resolve(self, node: Any, ns: str | None) -> _Type:
        if isinstance(node, list):
            return _Type("union", node, ns)
        if isinstance(node, str):
            if node in PRIMITIVES:
                return _Type(node, node, ns)
            return self.resolve(self._lookup(node, ns), ns)
        if isinstance(node, dict):
            kind = node.get("type")
            if kind in PRIMITIVES:
                return _Type(kind, node, ns)  # a logical type: only the underlying type counts
            if kind in _NAMED_KINDS:
                full = _full_name(str(node.get("name", "")), node.get("namespace"), ns)
                return _Type(_NAMED_KINDS[kind], node, _namespace_of(full), full)
            if kind in ("array", "map"):
                return _Type(kind, node, ns)
            if isinstance(kind, str | dict | list):  # {"type": "SomeName"} or a nested wrapper
                return self.resolve(kind, ns)
        raise UnresolvableSchema(f"not an Avro type: {node!r}")

    def _lookup(self, name: str, ns: str | None) -> dict[str, Any]:
        candidates = [name] if "." in name else ([f"{ns}.{name}"] if ns else []) + [name]
        for full in candidates:
            if full in self._defs:
                return self._defs[full]
        raise UnresolvableSchema(f"unknown type name '{name}'")


def _aliases(t: _Type) -> set[str]:
    """The full names a named reader type also answers to (aliases resolve in its namespace)."""
    raw = t.node.get("aliases", []) if isinstance(t.node, dict) else []
    return {_full_name(str(a), None, t.ns) for a in raw}


def _names_match(reader: _Type, writer: _Type) -> bool:
    return reader.simple_name == writer.simple_name or writer.name in _aliases(reader)


def _at(path: str) -> str:
    return path or "<top level>"


class _Resolver:
    """Walks a reader and a writer schema together, collecting resolution failures."""

    def __init__(self, reader: Any, writer: Any, roles: Roles) -> None:
        self.r_names, self.w_names = _Names(reader), _Names(writer)
        self.roles = roles
        self.problems: list[str] = []
        # Record pairs already compared: stops recursive types, and a shared type used in
        # several places is reported once.
        self._seen: set[tuple[str, str]] = set()

    def describe(self, t: _Type, names: _Names) -> str:
        if t.kind in ("record", "enum", "fixed"):
            return f"{t.kind} '{t.simple_name}'"
        if t.kind == "array":
            return "array of " + self.describe(names.resolve(t.node["items"], t.ns), names)
        if t.kind == "map":
            return "map of " + self.describe(names.resolve(t.node["values"], t.ns), names)
        if t.kind == "union":
            inner = ", ".join(self.describe(names.resolve(b, t.ns), names) for b in t.node)
            return f"union [{inner}]"
        return t.kind

    def matches(self, reader: _Type, writer: _Type) -> bool:
        """Whether a reader union branch is the one chosen for a writer type (shallow)."""
        if reader.kind in PRIMITIVES and writer.kind in PRIMITIVES:
            return reader.kind == writer.kind or reader.kind in PROMOTIONS.get(writer.kind, ())
        if reader.kind != writer.kind:
            return False
        if reader.kind in ("array", "map"):
            key = "items" if reader.kind == "array" else "values"
            r_inner = self.r_names.resolve(reader.node[key], reader.ns)
            w_inner = self.w_names.resolve(writer.node[key], writer.ns)
            return "union" in (r_inner.kind, w_inner.kind) or self.matches(r_inner, w_inner)
        if reader.kind == "fixed" and reader.node.get("size") != writer.node.get("size"):
            return False
        return reader.kind in ("record", "enum", "fixed") and _names_match(reader, writer)

    def check(self, reader: _Type, writer: _Type, path: str) -> None:
        if writer.kind == "union":
            # Data may take any writer branch, so every branch must be readable.
            for node in writer.node:
                self.check_branch(reader, self.w_names.resolve(node, writer.ns), path)
        elif reader.kind == "union":
            self.check_branch(reader, writer, path)
        elif reader.kind in PRIMITIVES or writer.kind in PRIMITIVES or reader.kind != writer.kind:
            if not self.matches(reader, writer):
                self.type_mismatch(reader, writer, path)
        elif reader.kind == "array":
            self.check_inner(reader, writer, "items", f"{path}[]")
        elif reader.kind == "map":
            self.check_inner(reader, writer, "values", f"{path}{{}}")
        elif not _names_match(reader, writer):
            self.name_mismatch(reader, writer, path)
        elif reader.kind == "record":
            self.check_record(reader, writer, path)
        elif reader.kind == "enum":
            self.check_enum(reader, writer, path)
        elif reader.node.get("size") != writer.node.get("size"):
            self.size_mismatch(reader, writer, path)

    def check_branch(self, reader: _Type, writer: _Type, path: str) -> None:
        """``writer`` is one non-union writer type; the reader may or may not be a union."""
        if reader.kind != "union":
            if self.matches(reader, writer) or reader.kind == writer.kind:
                self.check(reader, writer, path)
            else:
                self.unreadable_branch(reader, writer, path)
            return
        for node in reader.node:  # the spec: the first matching reader branch is used
            branch = self.r_names.resolve(node, reader.ns)
            if self.matches(branch, writer):
                self.check(branch, writer, path)
                return
        self.unreadable_branch(reader, writer, path)

    def check_inner(self, reader: _Type, writer: _Type, key: str, path: str) -> None:
        self.check(
            self.r_names.resolve(reader.node[key], reader.ns),
            self.w_names.resolve(writer.node[key], writer.ns),
            path,
        )

    def check_record(self, reader: _Type, writer: _Type, path: str) -> None:
        if (reader.name, writer.name) in self._seen:
            return
        self._seen.add((reader.name, writer.name))
        written = {f["name"]: f for f in writer.node.get("fields", [])}
        for field in reader.node.get("fields", []):
            name = field["name"]
            field_path = f"{path}.{name}" if path else name
            source = written.get(name) or next(
                (written[a] for a in field.get("aliases", []) if a in written), None
            )
            if source is None:
                if "default" not in field:
                    self.missing_field(name, field_path)
                continue
            self.check(
                self.r_names.resolve(field["type"], reader.ns),
                self.w_names.resolve(source["type"], writer.ns),
                field_path,
            )

    def check_enum(self, reader: _Type, writer: _Type, path: str) -> None:
        known = set(reader.node.get("symbols", []))
        unknown = [s for s in writer.node.get("symbols", []) if s not in known]
        if unknown and "default" not in reader.node:
            self.missing_symbols(reader, unknown, path)

    # Messages. Each names the path, what fails, and a fix on the side being changed.

    def _say(self, path: str, what: str, fix_reader: str, fix_writer: str) -> None:
        fix = fix_reader if self.roles.changed == "reader" else fix_writer
        self.problems.append(f"{_at(path)}: {what}; {fix}")

    def missing_field(self, name: str, path: str) -> None:
        r, w = self.roles.reader, self.roles.writer
        self._say(
            path,
            f"{r} has field '{name}' with no default and {w} does not write it",
            f"give '{name}' a default in {r} so it can read data written with {w}",
            f"keep field '{name}' in {w}, because {r} reads it and has no default for it",
        )

    def type_mismatch(self, reader: _Type, writer: _Type, path: str) -> None:
        r_desc, w_desc = self.describe(reader, self.r_names), self.describe(writer, self.w_names)
        r, w = self.roles.reader, self.roles.writer
        self._say(
            path,
            f"{r} reads {r_desc} where {w} writes {w_desc}, which Avro cannot convert",
            f"keep it {w_desc}, or change it only by a promotion Avro allows ({_WIDENINGS})",
            f"keep writing {r_desc}, or a type Avro promotes to it ({_WIDENINGS})",
        )

    def unreadable_branch(self, reader: _Type, writer: _Type, path: str) -> None:
        r_desc, w_desc = self.describe(reader, self.r_names), self.describe(writer, self.w_names)
        r, w = self.roles.reader, self.roles.writer
        reads = f"{r_desc}, which has no branch for it" if reader.kind == "union" else r_desc
        self._say(
            path,
            f"{w} can write {w_desc} here but {r} reads only {reads}",
            f"keep {w_desc} readable in {r} (as a union branch)",
            f"do not let {w} write {w_desc} here",
        )

    def name_mismatch(self, reader: _Type, writer: _Type, path: str) -> None:
        r, w = self.roles.reader, self.roles.writer
        old, new = writer.simple_name, reader.simple_name
        self._say(
            path,
            f"{r} expects {reader.kind} '{new}' where {w} writes {writer.kind} '{old}'",
            f"keep the name '{old}', or add '{writer.name}' to the aliases of '{new}'",
            f"keep the name '{new}' ({r} cannot learn aliases added later)",
        )

    def size_mismatch(self, reader: _Type, writer: _Type, path: str) -> None:
        r_size, w_size = reader.node.get("size"), writer.node.get("size")
        self._say(
            path,
            f"fixed '{reader.simple_name}' is {r_size} bytes in {self.roles.reader} "
            f"but {w_size} bytes in {self.roles.writer}",
            f"keep the size {w_size}",
            f"keep the size {r_size}",
        )

    def missing_symbols(self, reader: _Type, unknown: list[str], path: str) -> None:
        r, w = self.roles.reader, self.roles.writer
        symbols = ", ".join(unknown)
        self._say(
            path,
            f"enum '{reader.simple_name}' in {r} has no symbol {symbols} that {w} can write, "
            "and no default symbol",
            f"keep {symbols}, or give the enum a 'default' symbol in {r}",
            f"do not add {symbols}: {r} has no default symbol to read unknown symbols as",
        )


def incompatibilities(reader: Any, writer: Any, roles: Roles | None = None) -> list[str]:
    """Why ``reader`` cannot read every datum written with ``writer``; empty if it can.

    Both are parsed JSON Avro schemas. Raises :class:`UnresolvableSchema` if either
    refers to a type it does not define.
    """
    resolver = _Resolver(reader, writer, roles or Roles())
    resolver.check(
        resolver.r_names.resolve(reader, None), resolver.w_names.resolve(writer, None), ""
    )
    return resolver.problems


def check_compatibility(level: str, new: Any, previous: Sequence[tuple[str, Any]]) -> list[str]:
    """Problems that stop ``new`` joining a subject under the compatibility ``level``.

    ``previous`` holds the subject's live schemas, oldest first, each with the label
    messages use for it (e.g. ``"version 3"``). Non-transitive levels compare with the
    latest only, as Confluent does.
    """
    level = level.upper()
    if level not in COMPATIBILITY_LEVELS:
        raise ValueError(f"unknown compatibility level {level!r}")
    if level == "NONE" or not previous:
        return []
    against = previous if level.endswith("_TRANSITIVE") else previous[-1:]
    problems: list[str] = []
    for label, old in reversed(against):  # newest first: usually the one the author knows
        if level.startswith(("BACKWARD", "FULL")):
            problems += incompatibilities(new, old, Roles(NEW_SCHEMA, label, "reader"))
        if level.startswith(("FORWARD", "FULL")):
            problems += incompatibilities(old, new, Roles(label, NEW_SCHEMA, "writer"))
    return problems

"""Load event schemas from ``schemas/avro`` and expose their fields and tags.

Policy and privacy act on the ``hub.tags`` each field carries, never on field names,
so this module flattens every schema into ``FieldInfo`` entries addressed by path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import fastavro

from hub.catalogue.expand import (
    PRIMITIVES,
    collect_named,
    full_name,
    load_named_types,
    standalone,
)
from hub.errors import ConfigError

TAGS_ATTR = "hub.tags"
EVENT_TYPE_ATTR = "hub.event_type"


@dataclass(frozen=True)
class FieldInfo:
    """One field of an event schema. ``path`` is dotted from the record root."""

    path: str
    name: str
    avro_type: Any
    tags: frozenset[str]
    doc: str
    nullable: bool
    is_record: bool
    children: tuple[FieldInfo, ...] = ()
    # Namespace of the record holding this field: short type names in ``avro_type``
    # resolve against it (Avro's rule), which derived schemas need to keep names intact.
    namespace: str | None = None


@dataclass(frozen=True)
class EventType:
    name: str
    slug: str
    schema: dict[str, Any]
    schema_str: str
    fields: tuple[FieldInfo, ...]
    parsed: Any = field(repr=False, compare=False, default=None)

    def walk(self) -> list[FieldInfo]:
        """Every field, depth first, records before their children."""
        return list(self._walked)

    @cached_property
    def _walked(self) -> tuple[FieldInfo, ...]:
        # Cached: the processor asks for tagged paths several times per event.
        out: list[FieldInfo] = []

        def visit(items: tuple[FieldInfo, ...]) -> None:
            for f in items:
                out.append(f)
                visit(f.children)

        visit(self.fields)
        return tuple(out)

    @cached_property
    def _by_tag(self) -> dict[str, tuple[str, ...]]:
        index: dict[str, list[str]] = {}
        for f in self._walked:
            for tag in f.tags:
                index.setdefault(tag, []).append(f.path)
        return {tag: tuple(paths) for tag, paths in index.items()}

    def field(self, path: str) -> FieldInfo | None:
        return next((f for f in self._walked if f.path == path), None)

    def paths_with_tag(self, tag: str) -> list[str]:
        return list(self._by_tag.get(tag, ()))

    def person_records(self) -> tuple[FieldInfo, ...]:
        """The record fields tagged ``person``: whom the event is about."""
        return self._persons

    @cached_property
    def _persons(self) -> tuple[FieldInfo, ...]:
        return tuple(f for f in self._walked if f.is_record and "person" in f.tags)

    def value_at_tag(self, record: Mapping[str, Any], tag: str) -> Any:
        """The value of the first field carrying ``tag`` (e.g. ``event-id``), or None."""
        for path in self._by_tag.get(tag, ()):
            value: Any = record
            for part in path.split("."):
                # dict first: an ABC isinstance check costs several times more.
                value = value.get(part) if isinstance(value, dict | Mapping) else None
            if value is not None:
                return value
        return None

    def event_id(self, record: Mapping[str, Any]) -> str:
        return str(self.value_at_tag(record, "event-id"))

    def source_partner(self, record: Mapping[str, Any]) -> Any:
        return self.value_at_tag(record, "source-partner")


def _strip_null(avro_type: Any) -> tuple[Any, bool]:
    if isinstance(avro_type, list):
        rest = [t for t in avro_type if t != "null"]
        nullable = len(rest) < len(avro_type)
        return (rest[0] if len(rest) == 1 else rest), nullable
    return avro_type, False


def _fields(
    record: dict[str, Any], prefix: str, named: dict[str, dict[str, Any]], ns: str | None
) -> tuple[FieldInfo, ...]:
    out = []
    for f in record.get("fields", []):
        path = f"{prefix}{f['name']}"
        inner, nullable = _strip_null(f["type"])
        inner_ns = ns
        if isinstance(inner, str) and inner not in PRIMITIVES:  # a later use of a named type
            full = inner if "." in inner else (f"{ns}.{inner}" if ns else inner)
            inner = named.get(full, inner)
        is_record = isinstance(inner, dict) and inner.get("type") == "record"
        if is_record:
            full = full_name(inner, ns)
            inner_ns = full.rsplit(".", 1)[0] if "." in full else None
        children = _fields(inner, path + ".", named, inner_ns) if is_record else ()
        out.append(
            FieldInfo(
                path=path,
                name=f["name"],
                avro_type=f["type"],
                tags=frozenset(f.get(TAGS_ATTR, [])),
                doc=f.get("doc", ""),
                nullable=nullable,
                is_record=is_record,
                children=children,
                namespace=ns,
            )
        )
    return tuple(out)


def event_type_from_schema(
    schema: dict[str, Any],
    source: str = "<schema>",
    shared: dict[str, dict[str, Any]] | None = None,
) -> EventType:
    """Build an event type; ``shared`` named types are inlined to make it standalone."""
    slug = schema.get(EVENT_TYPE_ATTR)
    if not isinstance(slug, str):
        raise ConfigError(f"{source}: top-level record needs a '{EVENT_TYPE_ATTR}' attribute")
    try:
        schema = standalone(schema, shared or {})
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    named: dict[str, dict[str, Any]] = {}
    collect_named(schema, None, named)
    try:
        parsed = fastavro.parse_schema(schema)
    except Exception as exc:
        raise ConfigError(f"{source}: invalid Avro schema: {exc}") from exc
    return EventType(
        name=schema["name"],
        slug=slug,
        schema=schema,
        schema_str=json.dumps(schema, sort_keys=False),
        fields=_fields(schema, "", named, schema.get("namespace")),
        parsed=parsed,
    )


@dataclass(frozen=True)
class Catalogue:
    """Every event type the partnership exchanges, by slug (e.g. ``safeguarding-concern``)."""

    event_types: dict[str, EventType]

    def get(self, slug: str) -> EventType | None:
        return self.event_types.get(slug)

    def by_name(self, name: str) -> EventType | None:
        return next((e for e in self.event_types.values() if e.name == name), None)


def load_catalogue(schemas_dir: Path) -> Catalogue:
    if not schemas_dir.is_dir():
        raise ConfigError(f"schema folder {schemas_dir} does not exist")
    shared = load_named_types(schemas_dir / "common")
    types: dict[str, EventType] = {}
    for path in sorted(schemas_dir.glob("*.avsc")):
        try:
            schema = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
        et = event_type_from_schema(schema, str(path), shared)
        types[et.slug] = et
    return Catalogue(types)

"""Events as JSON (for golden tests, files and web hooks) to and from their Avro shape.

Dates are ``YYYY-MM-DD``, timestamps ISO 8601 with a zone; everything else as in Avro's
JSON mapping minus the union wrappers. The schema decides the conversion, not the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from hub.catalogue.expand import collect_named
from hub.catalogue.schemas import EventType

Named = dict[str, dict[str, Any]]


def _convert(avro_type: Any, value: Any, to_avro: bool, named: Named) -> Any:
    if value is None:
        return None
    if isinstance(avro_type, str) and avro_type in named:
        avro_type = named[avro_type]
    if isinstance(avro_type, list):
        branches = [t for t in avro_type if t != "null"]
        return _convert(branches[0], value, to_avro, named) if len(branches) == 1 else value
    if isinstance(avro_type, dict):
        logical = avro_type.get("logicalType")
        kind = avro_type.get("type")
        if kind == "record":
            return {
                f["name"]: _convert(f["type"], value.get(f["name"]), to_avro, named)
                for f in avro_type["fields"]
                if f["name"] in value or not to_avro
            }
        if kind == "array":
            return [_convert(avro_type["items"], v, to_avro, named) for v in value]
        if logical == "date":
            return date.fromisoformat(value) if to_avro else value.isoformat()
        if logical in ("timestamp-millis", "timestamp-micros"):
            if to_avro:
                parsed = datetime.fromisoformat(value)
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            return value.isoformat()
        if logical == "uuid":
            return str(value)
    return value


def _named(schema: Mapping[str, Any]) -> Named:
    named: Named = {}
    collect_named(dict(schema), None, named)
    return named


def event_from_json(event_type: EventType, data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = _convert(event_type.schema, data, True, _named(event_type.schema))
    return out


def event_to_json(event_type: EventType, event: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = _convert(event_type.schema, event, False, _named(event_type.schema))
    return out


def record_to_json(schema: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """Any record (e.g. a recipient output) to JSON by its schema."""
    out: dict[str, Any] = _convert(dict(schema), record, False, _named(schema))
    return out

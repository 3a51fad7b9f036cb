"""Events as JSON (for golden tests, files and web hooks) to and from their Avro shape.

Dates are ``YYYY-MM-DD``, timestamps ISO 8601 with a zone; everything else as in Avro's
JSON mapping minus the union wrappers. The schema decides the conversion, not the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from hub.catalogue.schemas import EventType


def _convert(avro_type: Any, value: Any, to_avro: bool) -> Any:
    if value is None:
        return None
    if isinstance(avro_type, list):
        branches = [t for t in avro_type if t != "null"]
        return _convert(branches[0], value, to_avro) if len(branches) == 1 else value
    if isinstance(avro_type, dict):
        logical = avro_type.get("logicalType")
        kind = avro_type.get("type")
        if kind == "record":
            return {
                f["name"]: _convert(f["type"], value.get(f["name"]), to_avro)
                for f in avro_type["fields"]
                if f["name"] in value or not to_avro
            }
        if kind == "array":
            return [_convert(avro_type["items"], v, to_avro) for v in value]
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


def event_from_json(event_type: EventType, data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = _convert(event_type.schema, data, to_avro=True)
    return out


def event_to_json(event_type: EventType, event: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = _convert(event_type.schema, event, to_avro=False)
    return out


def record_to_json(schema: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """Any record (e.g. a recipient output) to JSON by its schema."""
    out: dict[str, Any] = _convert(dict(schema), record, to_avro=False)
    return out

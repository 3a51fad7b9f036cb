"""Schema validation and identity: which documents are the same schema.

Identity is a fingerprint of the schema's *whole* JSON document in canonical form (sorted
keys, no whitespace), not of Avro's Parsing Canonical Form: PCF drops ``doc``, logical types
and custom attributes such as ``hub.tags``, and the hub's privacy policy is driven by those
tags, so a schema whose tags change must get a new id rather than the old text back.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import fastavro
from fastavro.schema import SchemaParseException, UnknownType

from hub.registry.exceptions import InvalidSchema

AVRO = "AVRO"
SUPPORTED_TYPES: tuple[str, ...] = (AVRO,)


def identify(schema_str: str, schema_type: str = AVRO) -> tuple[str, str]:
    """Validate the schema; return its type and identity (sha256 of type + canonical JSON)."""
    kind = schema_type.upper()
    if kind not in SUPPORTED_TYPES:
        raise InvalidSchema(
            f"Invalid schema type '{schema_type}': this registry supports only "
            + ", ".join(SUPPORTED_TYPES)
        )
    canonical = _canonical_avro(schema_str)
    return kind, hashlib.sha256(f"{kind}\n{canonical}".encode()).hexdigest()


def _canonical_avro(schema_str: str) -> str:
    try:
        doc: Any = json.loads(schema_str)
    except json.JSONDecodeError as exc:
        raise InvalidSchema(f"Invalid schema: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict | list | str):
        raise InvalidSchema("Invalid Avro schema: must be a JSON object, array or type name")
    # Serialise before parsing so nothing fastavro does can leak into the identity.
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        fastavro.parse_schema(doc)
    except UnknownType as exc:
        raise InvalidSchema(f"Invalid Avro schema: unknown type name '{exc.name}'") from exc
    except KeyError as exc:
        raise InvalidSchema(f"Invalid Avro schema: missing required attribute {exc}") from exc
    except (SchemaParseException, ValueError, TypeError, AttributeError) as exc:
        raise InvalidSchema(f"Invalid Avro schema: {exc}") from exc
    return canonical

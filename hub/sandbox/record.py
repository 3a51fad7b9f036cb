"""One Kafka record as a JSON file: what ``hub partner check-record`` reads.

```json
{"topic": "partner.merseyside-police.safeguarding-concern.v1",
 "key": "2f1c...-event-id",
 "value_base64": "AAAAAAE...",
 "headers": {"hub.sig": "base64 signature", "hub.sig.key": "merseyside-police/k1"}}
```

``key`` is the key as UTF-8 text (or ``key_base64`` for other bytes; absent or null for no
key); ``headers`` is a list of ``[name, value]`` pairs in the order sent (repeats kept: the
batch signature covers them), or an object; a value is UTF-8 text, null, or
``{"base64": "..."}`` for other bytes. :func:`record_document` writes the same form, so any
client can dump what it sends.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.errors import ConfigError


@dataclass(frozen=True)
class RecordFile:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]

    def header(self, name: str) -> bytes | None:
        """The last value of header ``name`` (as Kafka clients read one)."""
        found = [v for n, v in self.headers if n == name]
        return found[-1] if found else None


def _b64(doc: Mapping[str, Any], name: str) -> bytes | None:
    raw = doc.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ConfigError(f"record file: '{name}' must be a base64 string")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"record file: '{name}' is not valid base64: {exc}") from exc


def _header_value(name: str, value: Any) -> bytes | None:
    if value is None or isinstance(value, str):
        return None if value is None else value.encode()
    if isinstance(value, Mapping) and isinstance(value.get("base64"), str):
        return _b64(value, "base64")
    raise ConfigError(f'record file: header {name} must be text, null or {{"base64": ...}}')


def _headers(raw: Any) -> list[tuple[str, bytes | None]]:
    if raw is None:
        return []
    pairs: Sequence[Any]
    if isinstance(raw, Mapping):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        pairs = raw
    else:
        raise ConfigError("record file: 'headers' must be a list of [name, value] or an object")
    out: list[tuple[str, bytes | None]] = []
    for pair in pairs:
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], str)):
            raise ConfigError(f"record file: header {pair!r} is not [name, value]")
        out.append((pair[0], _header_value(pair[0], pair[1])))
    return out


def parse_record(doc: Any) -> RecordFile:
    """The record a JSON document describes; ConfigError saying what is wrong with it."""
    if not isinstance(doc, Mapping):
        raise ConfigError("record file: expected a JSON object with topic, key, value_base64")
    topic = doc.get("topic")
    if not isinstance(topic, str) or not topic:
        raise ConfigError("record file: 'topic' is required")
    key_text = doc.get("key")
    if key_text is not None and not isinstance(key_text, str):
        raise ConfigError("record file: 'key' must be text (use key_base64 for bytes)")
    key = key_text.encode() if key_text is not None else _b64(doc, "key_base64")
    return RecordFile(topic, key, _b64(doc, "value_base64"), _headers(doc.get("headers")))


def load_record_file(path: Path) -> RecordFile:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not JSON: {exc}") from exc
    return parse_record(doc)


def _header_json(value: bytes | None) -> Any:
    if value is None:
        return None
    try:
        return value.decode()
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(value).decode()}


def record_document(
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]],
) -> dict[str, Any]:
    """The JSON form of a record, as ``parse_record`` reads it."""
    doc: dict[str, Any] = {"topic": topic}
    if key is not None:
        try:
            doc["key"] = key.decode()
        except UnicodeDecodeError:
            doc["key_base64"] = base64.b64encode(key).decode()
    if value is not None:
        doc["value_base64"] = base64.b64encode(value).decode()
    doc["headers"] = [[name, _header_json(raw)] for name, raw in headers]
    return doc

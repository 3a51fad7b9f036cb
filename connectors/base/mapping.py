"""From a source row (CSV cells, a JSON object, a database row) to a catalogue event.

A mapping, declared in the connector's YAML, names for each event field (a dotted path such
as ``subject.date_of_birth``) the source column it comes from, or a constant, plus how to
read it (a date format, a code translation, a list separator). Values are coerced by the
field's Avro type, walking the same standalone schema partners register, so a wrong type is
caught here with the field and column named, before anything reaches Kafka.

Events that already arrive in the catalogue's JSON shape (web hooks, JSON lines files
without a mapping) go through the same coercion with :func:`coerce_event`.

Error messages never quote the offending value: it may be personal data, and the reject
file keeps the original row next to the reason for whoever fixes it.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import fastavro.validation
from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.base.choice import exactly_one
from connectors.base.errors import (
    ConnectorConfigError,
    MissingColumn,
    MissingValue,
    SchemaInvalid,
    WrongType,
)
from hub.catalogue.expand import PRIMITIVES, collect_named
from hub.catalogue.schemas import EventType
from hub.policy.facts import get_path

# Fixed namespace so the same partner row always gets the same event id, on any machine.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c3f4e-2d0b-5c43-9a53-3c1f1b0d2a77")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_AUTO_ENVELOPE = {"event_type", "source_partner", "schema_version", "classification"}


class FieldRule(BaseModel):
    """How one event field is filled."""

    model_config = ConfigDict(extra="forbid")

    column: str | None = Field(
        default=None, description="Source column; a dotted path reads into nested JSON."
    )
    const: Any = Field(default=None, description="A constant instead of a column.")
    format: str | None = Field(
        default=None, description="strptime format for dates and times (default ISO 8601)."
    )
    values: dict[str, str] | None = Field(
        default=None, description="Translate source codes to schema values, e.g. {L: LOW}."
    )
    split: str = Field(default=";", description="Separator of list values in one cell.")
    timezone: str | None = Field(
        default=None, description="Zone of timestamps without one (default the mapping's)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> FieldRule:
        exactly_one(self, "column", "const")
        return self


class EventIdRule(BaseModel):
    """The event id: a UUID column, or derived from key columns (stable across re-sends)."""

    model_config = ConfigDict(extra="forbid")
    column: str | None = None
    key: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> EventIdRule:
        if (self.column is None) == (not self.key):
            raise ValueError("event_id needs either 'column' (a UUID) or 'key' (columns)")
        return self


class MappingConfig(BaseModel):
    """Source columns to event fields. Unmapped nullable fields are null."""

    model_config = ConfigDict(extra="forbid")

    event_id: EventIdRule
    fields: dict[str, str | FieldRule]
    timezone: str = Field(
        default="Europe/London",
        description="Case-system exports write local time; timestamps without a zone are read "
        "in this zone and converted to UTC.",
    )

    def rules(self) -> dict[str, FieldRule]:
        return {
            path: FieldRule(column=rule) if isinstance(rule, str) else rule
            for path, rule in self.fields.items()
        }


RuleLookup = Callable[[str], "FieldRule | None"]


class _Schema:
    """Named types of one event schema, for resolving references while walking it."""

    def __init__(self, event_type: EventType) -> None:
        self.event_type = event_type
        named: dict[str, dict[str, Any]] = {}
        collect_named(event_type.schema, None, named)
        self.named = dict(named)
        for full, node in named.items():
            self.named.setdefault(full.rsplit(".", 1)[-1], node)

    def resolve(self, avro_type: Any) -> Any:
        if isinstance(avro_type, str) and avro_type not in PRIMITIVES:
            return self.named.get(avro_type) or self.named[avro_type.rsplit(".", 1)[-1]]
        return avro_type


def _nullable(avro_type: Any) -> tuple[Any, bool]:
    if isinstance(avro_type, list):
        branches = [t for t in avro_type if t != "null"]
        return (branches[0] if len(branches) == 1 else branches), len(branches) < len(avro_type)
    return avro_type, False


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if value.__class__ is str or isinstance(value, str):  # the common case, without the ABC
        return not value.strip()
    if isinstance(value, Mapping):
        return all(_empty(v) for v in value.values())
    return False


class _Coercer:
    def __init__(self, schema: _Schema, rules: RuleLookup, default_tz: str) -> None:
        self.schema = schema
        self.rules = rules
        self.default_tz = default_tz
        # What each schema node resolves to, worked out once per node rather than per row
        # (keyed by id: the schema's nodes live as long as this coercer's schema).
        self._names: dict[int, frozenset[str]] = {}
        self._types: dict[int | str, tuple[Any, bool, Any]] = {}
        self._plans: dict[tuple[int, str], list[tuple[str, str, Any, bool, Any]]] = {}

    def _resolved(self, avro_type: Any) -> tuple[Any, bool, Any]:
        """(inner type, nullable, resolved node) of a field's type."""
        key = avro_type if isinstance(avro_type, str) else id(avro_type)
        found = self._types.get(key)
        if found is None:
            inner, nullable = _nullable(avro_type)
            node = None if isinstance(inner, list) else self.schema.resolve(inner)
            found = self._types[key] = (inner, nullable, node)
        return found

    def record(self, node: Mapping[str, Any], value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise WrongType(f"{path or 'event'}: expected an object", field=path or None)
        names = self._names.get(id(node))
        if names is None:
            names = self._names[id(node)] = frozenset(f["name"] for f in node["fields"])
        unknown = sorted(set(value) - names) if not names.issuperset(value) else None
        if unknown:
            raise SchemaInvalid(
                f"{path or 'event'}: unknown field(s) {', '.join(unknown)}", field=path or None
            )
        out: dict[str, Any] = {}
        for name, child, avro_type, has_default, default in self._fields(node, path):
            raw = value.get(name)
            if has_default and _empty(raw):  # an empty cell means "not known": the default
                out[name] = default
                continue
            out[name] = self.value(avro_type, raw, child)
        return out

    def _fields(self, node: Mapping[str, Any], path: str) -> list[tuple[str, str, Any, bool, Any]]:
        """(name, path, type, has a default, the default) of each field of a record node."""
        key = (id(node), path)
        found = self._plans.get(key)
        if found is None:
            found = [
                (
                    f["name"],
                    f"{path}.{f['name']}" if path else f["name"],
                    f["type"],
                    "default" in f,
                    f.get("default"),
                )
                for f in node["fields"]
            ]
            if "[" not in path:  # records inside lists: one path per index, not cached
                self._plans[key] = found
        return found

    def value(self, avro_type: Any, raw: Any, path: str) -> Any:
        inner, nullable, node = self._resolved(avro_type)
        if _empty(raw):
            if nullable:
                return None
            if isinstance(node, Mapping) and node.get("type") == "array":
                return []
            raise MissingValue(f"{path}: a value is required", field=path)
        if node is None:  # a union of several types: the first that fits
            for branch in inner:
                try:
                    return self.value(branch, raw, path)
                except WrongType:
                    continue
            raise WrongType(f"{path}: fits none of the allowed types", field=path)
        if isinstance(node, str):
            return self.primitive(node, raw, path)
        rule = self.rules(path.split("[", 1)[0])  # list items share their list's rule
        kind, logical = node.get("type"), node.get("logicalType")
        if logical is not None:
            return self.logical(str(logical), raw, path, rule)
        if kind == "record":
            return self.record(node, raw, path)
        if kind == "enum":
            return self.enum(node, raw, path, rule)
        if kind == "array":
            items = raw
            if isinstance(raw, str):
                sep = rule.split if rule else ";"
                items = [part.strip() for part in raw.split(sep) if part.strip()]
            if not isinstance(items, list):
                raise WrongType(f"{path}: expected a list", field=path)
            return [self.value(node["items"], item, f"{path}[{i}]") for i, item in enumerate(items)]
        if isinstance(kind, str):
            return self.primitive(kind, raw, path)
        return self.value(kind, raw, path)

    # -- compiled: the same coercion as closures built once per mapper (the hot path)

    def compile_record(self, node: Mapping[str, Any], path: str) -> Callable[[Any], Any]:
        """A function doing what :meth:`record` does for ``node`` at ``path``, with every
        decision that depends only on the schema and the rules taken now, not per row.
        Leaves call the same :meth:`primitive`, :meth:`enum` and :meth:`logical`; lists go
        through :meth:`value` (their item paths carry an index), so the errors are the same."""
        names = frozenset(f["name"] for f in node["fields"])
        plan = [
            (name, has_default, default, self.compile_value(avro_type, child))
            for name, child, avro_type, has_default, default in self._fields(node, path)
        ]
        label, field = path or "event", path or None

        def coerce(value: Any) -> dict[str, Any]:
            if not isinstance(value, Mapping):
                raise WrongType(f"{label}: expected an object", field=field)
            if not names.issuperset(value):
                unknown = sorted(set(value) - names)
                raise SchemaInvalid(f"{label}: unknown field(s) {', '.join(unknown)}", field=field)
            out: dict[str, Any] = {}
            for name, has_default, default, fill in plan:
                raw = value.get(name)
                if has_default and _empty(raw):
                    out[name] = default
                else:
                    out[name] = fill(raw)
            return out

        return coerce

    def compile_value(self, avro_type: Any, path: str) -> Callable[[Any], Any]:
        inner, nullable, node = self._resolved(avro_type)
        if (isinstance(node, Mapping) and node.get("type") == "array") or not (
            node is None or isinstance(node, str) or isinstance(node.get("type"), str)
        ):
            return lambda raw: self.value(avro_type, raw, path)  # lists, nested type objects
        body = self._compile_body(inner, node, path)
        missing = f"{path}: a value is required"

        def fill(raw: Any) -> Any:
            if raw is None or _empty(raw):
                if nullable:
                    return None
                raise MissingValue(missing, field=path)
            return body(raw)

        return fill

    def _compile_body(self, inner: Any, node: Any, path: str) -> Callable[[Any], Any]:
        if node is None:  # a union of several types: the first that fits
            branches = [self.compile_value(branch, path) for branch in inner]

            def first_fit(raw: Any) -> Any:
                for branch in branches:
                    try:
                        return branch(raw)
                    except WrongType:
                        continue
                raise WrongType(f"{path}: fits none of the allowed types", field=path)

            return first_fit
        if isinstance(node, str):
            return functools.partial(self._primitive_at, node, path)
        rule = self.rules(path.split("[", 1)[0])
        kind, logical = node.get("type"), node.get("logicalType")
        if logical is not None:
            return lambda raw: self.logical(str(logical), raw, path, rule)
        if kind == "record":
            return self.compile_record(node, path)
        if kind == "enum":
            return lambda raw: self.enum(node, raw, path, rule)
        return functools.partial(self._primitive_at, kind, path)

    def _primitive_at(self, kind: str, path: str, raw: Any) -> Any:
        return self.primitive(kind, raw, path)

    def primitive(self, kind: str, raw: Any, path: str) -> Any:
        try:
            match kind:
                case "string":
                    if isinstance(raw, bool | dict | list):
                        raise ValueError
                    return str(raw).strip()
                case "int" | "long":
                    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                        raise ValueError
                    return int(raw.strip() if isinstance(raw, str) else raw)
                case "float" | "double":
                    if isinstance(raw, bool):
                        raise ValueError
                    return float(raw)
                case "boolean":
                    if isinstance(raw, bool):
                        return raw
                    text = str(raw).strip().casefold()
                    if text in _TRUE:
                        return True
                    if text in _FALSE:
                        return False
                    raise ValueError
                case "bytes":
                    return raw if isinstance(raw, bytes) else str(raw).encode()
        except (TypeError, ValueError):
            raise WrongType(f"{path}: expected {_article(kind)}", field=path) from None
        raise WrongType(f"{path}: unsupported type {kind}", field=path)

    def enum(self, node: Mapping[str, Any], raw: Any, path: str, rule: FieldRule | None) -> str:
        text = str(raw).strip()
        if rule and rule.values:
            text = rule.values.get(text, text)
        symbols: list[str] = node["symbols"]
        if text in symbols:
            return text
        normal = text.upper().replace(" ", "_").replace("-", "_")
        if normal in symbols:
            return normal
        shown = ", ".join(symbols[:12]) + (", ..." if len(symbols) > 12 else "")
        raise WrongType(f"{path}: not one of the allowed values ({shown})", field=path)

    def logical(self, logical: str, raw: Any, path: str, rule: FieldRule | None) -> Any:
        fmt = rule.format if rule else None
        try:
            if logical == "uuid":
                return str(uuid.UUID(str(raw).strip()))
            if logical == "date":
                if isinstance(raw, datetime):
                    return raw.date()
                if isinstance(raw, date):
                    return raw
                text = str(raw).strip()
                return _strptime(text, fmt).date() if fmt else date.fromisoformat(text)
            if logical in ("time-millis", "time-micros"):
                if isinstance(raw, time):
                    return raw
                text = str(raw).strip()
                parsed = datetime.strptime(text, fmt).time() if fmt else time.fromisoformat(text)
                return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)
            if logical in ("timestamp-millis", "timestamp-micros"):
                if isinstance(raw, datetime):
                    stamp = raw
                else:
                    text = str(raw).strip()
                    stamp = _strptime(text, fmt) if fmt else datetime.fromisoformat(text)
                if stamp.tzinfo is None:
                    zone = (rule.timezone if rule else None) or self.default_tz
                    stamp = stamp.replace(tzinfo=ZoneInfo(zone))
                stamp = stamp.astimezone(UTC)
                if logical == "timestamp-millis":  # what Avro stores: round-trips exactly
                    stamp = stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)
                return stamp
            if logical == "decimal":
                from decimal import Decimal

                return Decimal(str(raw))
        except (TypeError, ValueError, ArithmeticError):
            expected = f"a {logical}" + (f" in the format {fmt}" if fmt else " (ISO 8601)")
            raise WrongType(f"{path}: expected {expected}", field=path) from None
        return raw


_FIXED_WIDTH = {"d": 2, "m": 2, "Y": 4, "H": 2, "M": 2, "S": 2}


@functools.lru_cache(maxsize=64)
def _slices(fmt: str) -> tuple[int, tuple[tuple[str, int, int], ...], str] | None:
    """For a format of zero-padded numeric fields and single-character separators (e.g.
    ``%d/%m/%Y %H:%M``): its length, each field's code and slice, and the text with every
    field blanked; None for any other format."""
    fields: list[tuple[str, int, int]] = []
    shape: list[str] = []
    i = 0
    while i < len(fmt):
        if fmt[i] == "%":
            code = fmt[i + 1 : i + 2]
            if code not in _FIXED_WIDTH or any(c == code for c, _, _ in fields):
                return None
            start = len(shape)
            shape += ["0"] * _FIXED_WIDTH[code]
            fields.append((code, start, len(shape)))
            i += 2
        elif fmt[i].isascii() and not fmt[i].isalnum():
            shape.append(fmt[i])
            i += 1
        else:
            return None
    return len(shape), tuple(fields), "".join(shape)


def _strptime(text: str, fmt: str) -> datetime:
    """``datetime.strptime``, about 8 times faster for the fixed-width numeric formats case
    systems export (a third of a row's mapping time went to strptime). Any text the fast
    path does not take exactly (another length, a non-ASCII digit, a different separator)
    goes to strptime, so what is accepted and refused is strptime's."""
    plan = _slices(fmt)
    if plan is not None and len(text) == plan[0]:
        values = {"Y": 1900, "m": 1, "d": 1, "H": 0, "M": 0, "S": 0}
        blanked = list(text)
        for code, start, end in plan[1]:
            part = text[start:end]
            if not (part.isascii() and part.isdigit()):
                break
            values[code] = int(part)
            blanked[start:end] = "0" * (end - start)
        else:
            if "".join(blanked) == plan[2]:
                v = values
                return datetime(v["Y"], v["m"], v["d"], v["H"], v["M"], v["S"])
    return datetime.strptime(text, fmt)


def _article(kind: str) -> str:
    names = {
        "int": "an integer",
        "long": "an integer",
        "float": "a number",
        "double": "a number",
        "boolean": "true or false",
        "string": "text",
    }
    return names.get(kind, kind)


def _validate(event_type: EventType, event: dict[str, Any]) -> None:
    """A final guard with fastavro; its messages quote values, so keep only the path."""
    # The yes/no check first: with raise_errors=True fastavro builds (and JSON-encodes) an
    # error for every union branch it tries, even on valid events (about half its cost).
    if fastavro.validation.validate(event, event_type.parsed, raise_errors=False):
        return
    try:
        fastavro.validation.validate(event, event_type.parsed, raise_errors=True)
    except fastavro.validation.ValidationError as exc:
        paths = sorted({str(e).split(" is ", 1)[0] for e in exc.errors})
        raise SchemaInvalid(f"does not match the schema at {', '.join(paths)}") from None


def _fill_envelope(event: dict[str, Any], event_type: EventType, partner: str) -> None:
    envelope = event.setdefault("envelope", {})
    if not isinstance(envelope, dict):
        raise WrongType("envelope: expected an object", field="envelope")
    claimed = envelope.get("source_partner")
    if claimed not in (None, "", partner):
        raise SchemaInvalid(
            "envelope.source_partner names another partner; publish only your own events",
            field="envelope.source_partner",
        )
    claimed_type = envelope.get("event_type")
    if claimed_type not in (None, "", event_type.slug):
        raise SchemaInvalid(
            f"envelope.event_type is not {event_type.slug}", field="envelope.event_type"
        )
    envelope["source_partner"] = partner
    envelope["event_type"] = event_type.slug
    envelope.setdefault("schema_version", 1)
    envelope.setdefault("revision", 1)  # a correction maps its own revision column


def coerce_event(
    event_type: EventType, data: Mapping[str, Any], partner: str, *, timezone: str = "UTC"
) -> dict[str, Any]:
    """An event in the catalogue's JSON shape, checked and converted to its Avro shape.

    ``envelope.source_partner`` and ``envelope.event_type`` are filled in (or must already
    be this partner and type); ``envelope.event_id`` is required, as it is the
    publisher's idempotency key."""
    event = dict(data)
    _fill_envelope(event, event_type, partner)
    if _empty(event["envelope"].get("event_id")):
        raise MissingValue("envelope.event_id: a value is required", field="envelope.event_id")
    out = _Coercer(_Schema(event_type), lambda _p: None, timezone).record(
        event_type.schema, event, ""
    )
    _validate(event_type, out)
    return out


class Mapper:
    """Maps rows of one source to events of one type, as ``mapping`` declares."""

    def __init__(self, event_type: EventType, partner: str, mapping: MappingConfig) -> None:
        self.event_type = event_type
        self.partner = partner
        self.mapping = mapping
        self._rules = mapping.rules()
        self._schema = _Schema(event_type)
        problems = self.check()
        if problems:
            raise ConnectorConfigError(
                f"mapping for {event_type.slug} is invalid: " + "; ".join(problems)
            )
        self._coercer = _Coercer(self._schema, self._rules.get, mapping.timezone)
        self._coerce = self._coercer.compile_record(self.event_type.schema, "")
        # Per rule, split once: (path, column, dotted, const, parent keys, leaf key).
        self._plan = [
            (
                path,
                r.column,
                "." in (r.column or ""),
                r.const,
                path.split(".")[:-1],
                path.split(".")[-1],
            )
            for path, r in self._rules.items()
        ]

    # -- static checks, run at start-up and by `hub connector check`

    def _leaf_paths(self) -> dict[str, bool]:
        """Every scalar or array field path, with whether it must have a value."""
        out: dict[str, bool] = {}

        def walk(node: Mapping[str, Any], prefix: str, required: bool) -> None:
            for f in node["fields"]:
                path = f"{prefix}.{f['name']}" if prefix else f["name"]
                inner, nullable = _nullable(f["type"])
                resolved = self._schema.resolve(inner) if not isinstance(inner, list) else inner
                needed = required and not nullable and "default" not in f
                if isinstance(resolved, Mapping) and resolved.get("type") == "record":
                    out[path] = needed
                    walk(resolved, path, needed)
                else:
                    out[path] = needed

        walk(self.event_type.schema, "", True)
        return out

    def check(self) -> list[str]:
        problems: list[str] = []
        leaves = self._leaf_paths()
        for path in self._rules:
            if path not in leaves:
                problems.append(f"'{path}' is not a field of {self.event_type.slug}")
            elif path.split(".", 1)[0] == "envelope" and path.split(".")[-1] in _AUTO_ENVELOPE:
                problems.append(f"'{path}' is set by the connector; remove it from the mapping")
        covered = set(self._rules) | {"envelope.event_id", "envelope.recorded_at"}
        covered |= {f"envelope.{name}" for name in _AUTO_ENVELOPE}
        for path, needed in leaves.items():
            is_record = any(other.startswith(path + ".") for other in leaves)
            if needed and not is_record and path not in covered:
                problems.append(f"required field '{path}' is not mapped")
        return problems

    def required_columns(self) -> set[str]:
        """Source columns that feed required fields, plus the event id's."""
        leaves = self._leaf_paths()
        cols = {r.column for p, r in self._rules.items() if r.column and leaves.get(p)}
        eid = self.mapping.event_id
        cols |= {eid.column} if eid.column else set(eid.key)
        return {c.split(".", 1)[0] for c in cols}

    def columns(self) -> set[str]:
        cols = {r.column.split(".", 1)[0] for r in self._rules.values() if r.column}
        eid = self.mapping.event_id
        return cols | ({eid.column} if eid.column else set(eid.key))

    # -- per row

    def event_id(self, row: Mapping[str, Any]) -> str:
        rule = self.mapping.event_id
        if rule.column:
            raw = get_path(row, rule.column)
            if _empty(raw):
                raise MissingValue(f"column '{rule.column}' (event id) is empty", field=rule.column)
            try:
                return str(uuid.UUID(str(raw).strip()))
            except ValueError:
                raise WrongType(
                    f"column '{rule.column}' (event id): expected a UUID", field=rule.column
                ) from None
        parts = []
        for col in rule.key:
            raw = get_path(row, col)
            if _empty(raw):
                raise MissingValue(f"column '{col}' (event id key) is empty", field=col)
            parts.append(str(raw).strip())
        name = "/".join([self.partner, self.event_type.slug, *parts])
        return str(uuid.uuid5(EVENT_ID_NAMESPACE, name))

    def map(self, row: Mapping[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
        """The event for ``row``, or a :class:`RecordRejected` saying which field is wrong."""
        event: dict[str, Any] = self._coerce(self.nest(row, now))
        _validate(self.event_type, event)
        return event

    def nest(self, row: Mapping[str, Any], now: datetime | None = None) -> dict[str, Any]:
        """The row's values placed at their event paths, the envelope filled in: what the
        coercion (compiled, or the interpreted :class:`_Coercer` it must equal) reads."""
        nested: dict[str, Any] = {}
        for path, column, dotted, const, parents, leaf in self._plan:
            if column is None:
                value = const
            elif not dotted and column in row:  # a flat column (CSV): one look-up
                value = row[column]
            elif dotted and _has(row, column):
                value = get_path(row, column)
            else:
                raise MissingColumn(f"column '{column}' (for {path}) is missing", field=column)
            node = nested
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        envelope = nested.setdefault("envelope", {})
        envelope["event_id"] = self.event_id(row)
        envelope.setdefault("recorded_at", now or datetime.now(UTC))
        _fill_envelope(nested, self.event_type, self.partner)
        return nested


def _has(row: Mapping[str, Any], column: str) -> bool:
    head, _, rest = column.partition(".")
    if head not in row:
        return False
    return not rest or (isinstance(row[head], Mapping) and _has(row[head], rest))

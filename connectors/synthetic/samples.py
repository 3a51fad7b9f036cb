"""Seeded random records for any catalogue event type, valid against its expanded schema.

The generator walks the standalone schema partners register (``EventType.schema``), so a
new event type gets samples without code. Values are shaped by the schema (logical types,
enums, unions, arrays, named types) and, for strings, by the field's ``hub.tags``, the
same tags policy and privacy act on: a field tagged ``postcode`` gets a Merseyside
postcode, ``nhs-number`` a number with a valid check digit, ``free-text`` a sentence.
That keeps samples realistic enough to exercise normalisation and redaction, and never
depends on field names. Nothing here is a real person.
"""

from __future__ import annotations

import random
import struct
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from connectors.synthetic.police import nhs_number, pnc_id
from hub.catalogue.expand import PRIMITIVES, collect_named
from hub.catalogue.reference import VALUES_ATTR
from hub.catalogue.schemas import TAGS_ATTR, EventType

LOGICAL_TYPES = frozenset(
    {
        "uuid",
        "date",
        "time-millis",
        "time-micros",
        "timestamp-millis",
        "timestamp-micros",
        "local-timestamp-millis",
        "local-timestamp-micros",
        "decimal",
    }
)

_NAMES = [
    "Olivia",
    "Isla",
    "Freya",
    "Aaliyah",
    "Noah",
    "Kayden",
    "Callum",
    "Muhammad",
    "Smith",
    "Murphy",
    "O'Brien",
    "McCarthy",
    "Okafor",
    "Nowak",
    "Khan",
    "Walsh",
]
_STREETS = ["Smithdown Road", "Lodge Lane", "County Road", "Stanley Road", "Borough Road"]
_OUTWARD = ["L4", "L8", "L13", "L20", "L28", "L33", "PR8", "WA9", "WA10", "CH41", "CH44"]
_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
# Fragments of the kind of sentence partners write in free-text fields.
_PHRASES = [
    "seen near the park with older males",
    "school staff raised concerns",
    "reported missing twice this month",
    "house cold and no food in the cupboards",
    "mother unwell and struggling to cope",
    "tenancy at risk",
    "new phone and cash unexplained",
    "disclosed to a teacher",
    "neighbours heard shouting late at night",
    "declined support when offered",
]


@dataclass
class SampleGenerator:
    """Generates records of one event type; the same seed gives the same records.

    ``null_rate`` is the chance a nullable value is null, so both branches of every
    union are exercised in a few hundred records.
    """

    event_type: EventType
    source_partner: str
    seed: int = 0
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    days: int = 365
    null_rate: float = 0.25
    _rng: random.Random = field(init=False, repr=False)
    _named: dict[str, dict[str, Any]] = field(init=False, repr=False)
    _seq: int = field(init=False, default=0, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._named = {}
        collect_named(self.event_type.schema, None, self._named)

    def next_event(self) -> dict[str, Any]:
        self._seq += 1
        schema = self.event_type.schema
        record: dict[str, Any] = self._value(schema, frozenset(), None, _namespace(schema))
        self._fix_envelope(record)
        return record

    def events(self, n: int) -> list[dict[str, Any]]:
        return [self.next_event() for _ in range(n)]

    # -- the envelope: the one shared contract the generator must get right, not just valid

    def _fix_envelope(self, record: dict[str, Any]) -> None:
        for info in self.event_type.fields:
            if "envelope" not in info.tags or not isinstance(record.get(info.name), dict):
                continue
            envelope: dict[str, Any] = record[info.name]
            occurred: Any = None
            for child in info.children:
                if "source-partner" in child.tags:
                    envelope[child.name] = self.source_partner
                elif "event-time" in child.tags:
                    occurred = envelope[child.name]
                elif child.name == "event_type":
                    envelope[child.name] = self.event_type.slug
            # A plausible lag between the event and its recording in the partner's system.
            if isinstance(occurred, datetime) and "recorded_at" in envelope:
                envelope["recorded_at"] = occurred + timedelta(minutes=self._rng.randint(1, 600))
            if "schema_version" in envelope:
                envelope["schema_version"] = 1
            if "revision" in envelope:
                envelope["revision"] = 1  # an original; corrections are sent on purpose

    # -- values by Avro type

    def _value(self, avro_type: Any, tags: frozenset[str], values: Any, ns: str | None) -> Any:
        rng = self._rng
        if isinstance(avro_type, list):
            branches = [t for t in avro_type if t != "null"]
            if not branches or (len(branches) < len(avro_type) and rng.random() < self.null_rate):
                return None
            return self._value(rng.choice(branches), tags, values, ns)
        if isinstance(avro_type, str):
            if avro_type in PRIMITIVES:
                return self._primitive(avro_type, tags, values)
            named = self._resolve(avro_type, ns)
            return self._value(named, tags, values, _namespace(named, ns))
        if not isinstance(avro_type, Mapping):
            raise ValueError(f"not an Avro type: {avro_type!r}")
        kind = avro_type.get("type")
        logical = avro_type.get("logicalType")
        if logical in LOGICAL_TYPES:
            return self._logical(str(logical), avro_type, tags)
        if kind == "record" or kind == "error":
            inner_ns = _namespace(avro_type, ns)
            return {
                f["name"]: self._value(
                    f["type"], frozenset(f.get(TAGS_ATTR, [])), f.get(VALUES_ATTR), inner_ns
                )
                for f in avro_type["fields"]
            }
        if kind == "enum":
            return rng.choice(avro_type["symbols"])
        if kind == "array":
            return self._array(avro_type["items"], tags, values, ns)
        if kind == "map":
            return {
                f"key{i}": self._value(avro_type["values"], tags, values, ns)
                for i in range(rng.randint(0, 3))
            }
        if kind == "fixed":
            return rng.randbytes(int(avro_type["size"]))
        # {"type": "string"} and the like: a primitive written as an object.
        return self._value(kind, tags, values, ns)

    def _array(self, items: Any, tags: frozenset[str], values: Any, ns: str | None) -> list[Any]:
        rng = self._rng
        named = isinstance(items, str) and items not in PRIMITIVES
        resolved = self._resolve(items, ns) if named else items
        if isinstance(resolved, Mapping) and resolved.get("type") == "enum":
            # Arrays of enums are sets of categories in every catalogue schema: no repeats.
            symbols: Sequence[str] = resolved["symbols"]
            return rng.sample(list(symbols), rng.randint(0, min(3, len(symbols))))
        return [self._value(items, tags, values, ns) for _ in range(rng.randint(0, 3))]

    def _resolve(self, name: str, ns: str | None) -> dict[str, Any]:
        full = name if "." in name or ns is None else f"{ns}.{name}"
        found = self._named.get(full) or self._named.get(name)
        if found is None:
            raise ValueError(f"unknown named type {name!r} in {self.event_type.name}")
        return found

    def _primitive(self, kind: str, tags: frozenset[str], values: Any) -> Any:
        rng = self._rng
        match kind:
            case "boolean":
                return rng.random() < 0.5
            case "int":  # small non-negative: counts, scores and lengths are what ints hold
                return rng.randint(0, 30)
            case "long":
                return rng.randint(0, 1_000_000)
            case "float":
                return _float32(rng.uniform(0, 100))
            case "double":
                return rng.uniform(0, 100)
            case "bytes":
                return rng.randbytes(8)
            case "string":
                return self._string(tags, values)
        return None  # "null"

    def _logical(self, logical: str, avro_type: Mapping[str, Any], tags: frozenset[str]) -> Any:
        rng = self._rng
        match logical:
            case "uuid":
                return str(uuid.UUID(int=rng.getrandbits(128), version=4))
            case "date":
                if "dob" in tags:  # anyone from a baby to a 90 year old
                    return self.start.date() - timedelta(days=rng.randint(0, 90 * 365))
                return self._instant().date()
            case "time-millis" | "time-micros":
                micros = rng.randrange(86_400_000_000)
                if logical == "time-millis":  # what Avro stores, so values round-trip
                    micros -= micros % 1000
                return (datetime.min + timedelta(microseconds=micros)).time()
            case "decimal":
                scale = int(avro_type.get("scale", 0))
                digits = min(int(avro_type.get("precision", 9)), 18)
                return Decimal(rng.randrange(10**digits)).scaleb(-scale)
        instant = self._instant()
        if logical.endswith("-micros"):
            instant += timedelta(microseconds=rng.randrange(1000))
        # timestamp-* are instants (aware, UTC); local-timestamp-* are wall-clock times.
        return instant.replace(tzinfo=None) if logical.startswith("local-") else instant

    # -- strings, shaped by the field's tags (never by its name)

    def _string(self, tags: frozenset[str], values: Any) -> str:
        rng = self._rng
        if isinstance(values, list) and values:
            return str(rng.choice(values))
        if "nhs-number" in tags:
            return nhs_number(rng)
        if "pnc-id" in tags:
            return pnc_id(rng, self.start.year - rng.randint(0, 10))
        if "name" in tags:
            return rng.choice(_NAMES)
        if "postcode" in tags:
            unit = "".join(rng.choice(_UNIT_LETTERS) for _ in range(2))
            return f"{rng.choice(_OUTWARD)} {rng.randint(0, 9)}{unit}"
        if "address" in tags:
            return f"{rng.randint(1, 240)} {rng.choice(_STREETS)}"
        if "reference" in tags:
            return f"REF-{self.start.year}-{self._seq:06d}-{rng.randint(0, 99):02d}"
        if "area" in tags:  # a small-area code such as an LSOA
            return f"E0100{rng.randint(0, 9999):04d}"
        if "free-text" in tags:
            return "; ".join(rng.sample(_PHRASES, rng.randint(1, 3))).capitalize() + "."
        return f"Sample {rng.randint(1, 999)}"

    def _instant(self) -> datetime:
        """A millisecond-precise UTC instant inside the window: one year's feed."""
        return self.start + timedelta(milliseconds=self._rng.randrange(self.days * 86_400_000))


def _namespace(node: Mapping[str, Any], enclosing: str | None = None) -> str | None:
    name = str(node.get("name", ""))
    if "." in name:
        return name.rsplit(".", 1)[0]
    ns = node.get("namespace", enclosing)
    return str(ns) if ns else None


def _float32(value: float) -> float:
    """The nearest value Avro's 32-bit float can hold, so records round-trip exactly."""
    rounded: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return rounded


def sample_events(
    event_type: EventType, source_partner: str, n: int, seed: int = 0
) -> list[dict[str, Any]]:
    """``n`` valid records of ``event_type`` as published by ``source_partner``."""
    return SampleGenerator(event_type, source_partner, seed=seed).events(n)

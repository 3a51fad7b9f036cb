"""Property tests: the compatibility verdict agrees with what fastavro can actually read.

Random record schemas evolve by random changes (fields added with or without defaults,
removed, retyped, renamed with or without aliases; enum symbols and defaults; unions
widened and narrowed; records renamed). For the data the writer schema can produce:

* compatible: every datum written with the writer reads with the reader, both random data
  and the witness set below (bytes data is UTF-8: see ``values``);
* incompatible: at least one datum of the witness set fails to read.

The witness set is a base datum (every union on its non-null branch, arrays and maps with
one element, so every part of the schema is reached) plus one variant per other choice at
each union and enum, so each single place where resolution can fail is exercised.
"""

from __future__ import annotations

import copy
import io
import itertools
from collections.abc import Iterator
from typing import Any

import fastavro
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from hub.registry.compatibility import check_compatibility

PRIMITIVES = ["int", "long", "float", "double", "string", "bytes", "boolean"]
DEFAULTS: dict[str, Any] = {
    "int": 0,
    "long": 0,
    "float": 0.0,
    "double": 0.0,
    "string": "",
    "bytes": "",
    "boolean": False,
}
SYMBOLS = ["A", "B", "C", "D", "E"]
EXAMPLES = settings(max_examples=120, deadline=None)


class Fresh:
    """Unique names within one generated schema and its evolutions."""

    def __init__(self) -> None:
        self._n = itertools.count()

    def __call__(self, prefix: str) -> str:
        return f"{prefix}{next(self._n)}"


# Schemas


@st.composite
def avro_types(draw: st.DrawFn, fresh: Fresh, depth: int, defaultable: bool = False) -> Any:
    """A field type. ``defaultable`` leaves out bare records (their defaults are verbose)."""
    kinds = ["primitive", "primitive", "enum", "nullable", "array", "map"]
    if depth > 0 and not defaultable:
        kinds.append("record")
    kind = draw(st.sampled_from(kinds))
    if kind == "primitive":
        return draw(st.sampled_from(PRIMITIVES))
    if kind == "enum":
        symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=4, unique=True))
        out: dict[str, Any] = {"type": "enum", "name": fresh("Enum"), "symbols": symbols}
        if draw(st.booleans()):
            out["default"] = symbols[0]
        return out
    if kind == "nullable":  # unions may not hold unions directly
        inner = draw(avro_types(fresh, depth - 1).filter(lambda t: not isinstance(t, list)))
        return ["null", inner]
    if kind == "array":
        return {"type": "array", "items": draw(avro_types(fresh, depth - 1))}
    if kind == "map":
        return {"type": "map", "values": draw(avro_types(fresh, depth - 1))}
    return draw(records(fresh, depth - 1))


def default_for(avro_type: Any) -> Any:
    if isinstance(avro_type, str):
        return DEFAULTS[avro_type]
    if isinstance(avro_type, list):  # a union's default belongs to its first branch
        return None if avro_type[0] == "null" else default_for(avro_type[0])
    if avro_type["type"] == "enum":
        return avro_type["symbols"][0]
    return [] if avro_type["type"] == "array" else {}


@st.composite
def fields(draw: st.DrawFn, fresh: Fresh, depth: int) -> dict[str, Any]:
    with_default = draw(st.booleans())
    avro_type = draw(avro_types(fresh, depth, defaultable=with_default))
    out: dict[str, Any] = {"name": fresh("f"), "type": avro_type}
    if with_default:
        out["default"] = default_for(avro_type)
    return out


@st.composite
def records(draw: st.DrawFn, fresh: Fresh, depth: int = 2) -> dict[str, Any]:
    items = draw(st.lists(fields(fresh, depth), min_size=1, max_size=4))
    return {"type": "record", "name": fresh("Rec"), "fields": items}


@st.composite
def schemas(draw: st.DrawFn) -> tuple[dict[str, Any], Fresh]:
    fresh = Fresh()
    schema = draw(records(fresh))
    if draw(st.booleans()):
        schema["namespace"] = "uk.example"
    return schema, fresh


# Evolutions


def walk(node: Any) -> Iterator[Any]:
    """Every node of a schema (inline definitions only, as generated here)."""
    yield node
    if isinstance(node, list):
        for branch in node:
            yield from walk(branch)
    elif isinstance(node, dict):
        if node.get("type") == "record":
            for f in node["fields"]:
                yield from walk(f["type"])
        elif node.get("type") == "array":
            yield from walk(node["items"])
        elif node.get("type") == "map":
            yield from walk(node["values"])


def nodes_of(schema: Any, kind: str) -> list[dict[str, Any]]:
    return [n for n in walk(schema) if isinstance(n, dict) and n.get("type") == kind]


@st.composite
def mutate(draw: st.DrawFn, schema: dict[str, Any], fresh: Fresh) -> str:
    """Apply one random change to ``schema`` in place; return what it was, for notes."""
    recs = nodes_of(schema, "record")
    rec = draw(st.sampled_from(recs))
    enums = nodes_of(schema, "enum")
    options = ["add", "retype", "widen", "rename_field", "rename_record"]
    options += ["remove"] * bool(rec["fields"]) + ["narrow"] * bool(rec["fields"])
    options += ["enum_add", "enum_remove", "enum_default"] * bool(enums)
    change = draw(st.sampled_from(options))
    if change == "add":
        rec["fields"].append(draw(fields(fresh, 1)))
        return f"add {rec['fields'][-1]}"
    if change.startswith("enum"):
        return mutate_enum(draw, draw(st.sampled_from(enums)), change)
    if not rec["fields"]:
        return "nothing"
    field = draw(st.sampled_from(rec["fields"]))
    if change == "remove":
        rec["fields"].remove(field)
    elif change == "retype":
        retype(draw, field)
    elif change == "widen" and not isinstance(field["type"], list):
        field["type"] = [field["type"], "null"] if "default" in field else ["null", field["type"]]
    elif change == "narrow" and isinstance(field["type"], list):
        field["type"] = field["type"][1] if field["type"][0] == "null" else field["type"][0]
        field.pop("default", None)
        if draw(st.booleans()) and not isinstance(field["type"], dict):
            field["default"] = default_for(field["type"])
    elif change == "rename_field":
        old_name, field["name"] = field["name"], fresh("r")
        if draw(st.booleans()):
            field["aliases"] = [old_name]
    elif change == "rename_record":
        old_name, rec["name"] = rec["name"], fresh("Renamed")
        if draw(st.booleans()):
            namespaced = "namespace" in rec and draw(st.booleans())
            rec["aliases"] = [f"{rec['namespace']}.{old_name}" if namespaced else old_name]
    return f"{change} {field['name']} in {rec['name']}"


def retype(draw: st.DrawFn, field: dict[str, Any]) -> None:
    """A new primitive type for a (nullable) primitive field: a promotion or anything."""
    current = field["type"]
    nullable = isinstance(current, list)
    inner = next(b for b in current if b != "null") if nullable else current
    if not isinstance(inner, str):
        return
    new = draw(st.sampled_from(PRIMITIVES))
    if nullable:
        field["type"] = [new if b == inner else b for b in current]
    else:
        field["type"] = new
    if "default" in field:
        field["default"] = default_for(field["type"])


def mutate_enum(draw: st.DrawFn, enum: dict[str, Any], change: str) -> str:
    symbols: list[str] = enum["symbols"]
    if change == "enum_add":
        missing = [s for s in SYMBOLS if s not in symbols]
        if missing:
            symbols.append(draw(st.sampled_from(missing)))
    elif change == "enum_remove" and len(symbols) > 1:
        symbols.remove(draw(st.sampled_from(symbols)))
        if enum.get("default") not in (None, *symbols):
            enum["default"] = symbols[0]
    elif "default" in enum:
        del enum["default"]
    else:
        enum["default"] = draw(st.sampled_from(symbols))
    return f"{change} {enum['name']} -> {symbols} default {enum.get('default')}"


@st.composite
def evolutions(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    old, fresh = draw(schemas())
    new = copy.deepcopy(old)
    for _ in range(draw(st.integers(1, 3))):
        note(draw(mutate(new, fresh)))
    # Enum defaults are only fixed up for the enum that changed; keep every default valid.
    for enum in nodes_of(new, "enum"):
        if "default" in enum and enum["default"] not in enum["symbols"]:
            enum["default"] = enum["symbols"][0]
    return old, new


# Data


def values(avro_type: Any) -> st.SearchStrategy[Any]:
    """Random data a writer with this type can produce."""
    if isinstance(avro_type, list):
        return st.one_of([values(branch) for branch in avro_type])
    if isinstance(avro_type, str):
        return {
            "null": st.none(),
            "boolean": st.booleans(),
            "int": st.integers(-(2**31), 2**31 - 1),
            "long": st.integers(-(2**63), 2**63 - 1),
            "float": st.floats(width=32, allow_nan=False, allow_infinity=False),
            "double": st.floats(allow_nan=False, allow_infinity=False),
            "string": st.text(max_size=5),
            # UTF-8 only: Avro lets bytes be read as string (and the registry allows it, as
            # Confluent does), but fastavro refuses bytes that are not UTF-8 (Java would
            # substitute). docs/partners/registry.md warns partners about this.
            "bytes": st.text(max_size=5).map(str.encode),
        }[avro_type]
    kind = avro_type["type"]
    if kind == "enum":
        return st.sampled_from(avro_type["symbols"])
    if kind == "array":
        return st.lists(values(avro_type["items"]), max_size=3)
    if kind == "map":
        return st.dictionaries(st.text(max_size=3), values(avro_type["values"]), max_size=2)
    return st.fixed_dictionaries({f["name"]: values(f["type"]) for f in avro_type["fields"]})


SAMPLE: dict[str, Any] = {
    "null": None,
    "boolean": True,
    "int": 7,
    "long": 2**40,
    "float": 1.5,
    "double": 2.5,
    "string": "s",
    "bytes": b"b",
}


def _base_branch(union: list[Any]) -> int:
    """The branch the base datum takes: one that leads somewhere (not null)."""
    return next(i for i, b in enumerate(union) if b != "null") if union != ["null"] else 0


def choice_points(avro_type: Any, path: str = "") -> Iterator[tuple[str, int]]:
    """(path, number of choices) of every union and enum, reached through base choices."""
    if isinstance(avro_type, list):
        yield path, len(avro_type)
        for i, branch in enumerate(avro_type):
            yield from choice_points(branch, f"{path}|{i}")
    elif isinstance(avro_type, dict):
        kind = avro_type["type"]
        if kind == "enum":
            yield path, len(avro_type["symbols"])
        elif kind == "array":
            yield from choice_points(avro_type["items"], f"{path}[]")
        elif kind == "map":
            yield from choice_points(avro_type["values"], f"{path}{{}}")
        elif kind == "record":
            for f in avro_type["fields"]:
                yield from choice_points(f["type"], f"{path}.{f['name']}")


def build(avro_type: Any, choices: dict[str, int], path: str = "") -> Any:
    if isinstance(avro_type, list):
        i = choices.get(path, _base_branch(avro_type))
        return build(avro_type[i], choices, f"{path}|{i}")
    if isinstance(avro_type, str):
        return SAMPLE[avro_type]
    kind = avro_type["type"]
    if kind == "enum":
        return avro_type["symbols"][choices.get(path, 0)]
    if kind == "array":
        return [build(avro_type["items"], choices, f"{path}[]")]
    if kind == "map":
        return {"k": build(avro_type["values"], choices, f"{path}{{}}")}
    return {
        f["name"]: build(f["type"], choices, f"{path}.{f['name']}") for f in avro_type["fields"]
    }


def witnesses(schema: dict[str, Any]) -> list[Any]:
    base = build(schema, {})
    variants = [
        build(schema, {path: choice})
        for path, count in choice_points(schema)
        for choice in range(count)
    ]
    return [base, *variants]


def read_error(writer: Any, reader: Any, datum: Any) -> str | None:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, writer, datum)
    buf.seek(0)
    try:
        fastavro.schemaless_reader(buf, writer, reader)
    except Exception as exc:  # any resolution failure, whatever fastavro calls it
        return f"{type(exc).__name__}: {exc}"
    return None


def assert_verdict_matches_fastavro(
    reader: dict[str, Any], writer: dict[str, Any], problems: list[str], data: st.DataObject
) -> None:
    note(f"writer: {writer}\nreader: {reader}\nproblems: {problems}")
    parsed_writer, parsed_reader = fastavro.parse_schema(writer), fastavro.parse_schema(reader)
    witness_errors = [read_error(parsed_writer, parsed_reader, d) for d in witnesses(writer)]
    if problems:
        assert any(witness_errors), f"said incompatible ({problems}) but every witness reads"
        return
    assert not any(witness_errors), f"said compatible but a witness failed: {witness_errors}"
    for _ in range(3):
        datum = data.draw(values(writer))
        error = read_error(parsed_writer, parsed_reader, datum)
        assert error is None, f"said compatible but {datum!r} failed: {error}"


@pytest.mark.parametrize("mode", ["BACKWARD", "FORWARD"])
@EXAMPLES
@given(evolutions(), st.data())
def test_verdict_matches_what_fastavro_reads(
    mode: str, pair: tuple[dict[str, Any], dict[str, Any]], data: st.DataObject
) -> None:
    """BACKWARD: the new schema reads what the old one wrote; FORWARD: the other way."""
    old, new = pair
    problems = check_compatibility(mode, new, [("version 1", old)])
    reader, writer = (new, old) if mode == "BACKWARD" else (old, new)
    assert_verdict_matches_fastavro(reader=reader, writer=writer, problems=problems, data=data)


@settings(max_examples=50, deadline=None)
@given(schemas())
def test_every_schema_is_fully_compatible_with_itself(generated: tuple[Any, Fresh]) -> None:
    schema, _ = generated
    assert check_compatibility("FULL_TRANSITIVE", schema, [("v1", schema), ("v2", schema)]) == []

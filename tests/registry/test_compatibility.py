"""Avro schema resolution rules and compatibility levels, one rule per test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.catalogue import load_catalogue
from hub.registry.compatibility import (
    Roles,
    UnresolvableSchema,
    check_compatibility,
    incompatibilities,
)

ROOT = Path(__file__).resolve().parents[2]


def rec(*fields: dict[str, Any], name: str = "R", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def fld(name: str, avro_type: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": avro_type, **extra}


def enum(*symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "E", "symbols": list(symbols), **extra}


def compatible(reader: Any, writer: Any) -> bool:
    return not incompatibilities(reader, writer)


@pytest.mark.parametrize(
    ("writer", "reader", "ok"),
    [
        ("int", "long", True),
        ("int", "float", True),
        ("int", "double", True),
        ("long", "float", True),
        ("long", "double", True),
        ("float", "double", True),
        ("string", "bytes", True),
        ("bytes", "string", True),
        ("long", "int", False),
        ("double", "float", False),
        ("float", "long", False),
        ("int", "string", False),
        ("boolean", "int", False),
        ("null", "string", False),
    ],
)
def test_primitive_promotions(writer: str, reader: str, ok: bool) -> None:
    assert compatible(rec(fld("x", reader)), rec(fld("x", writer))) is ok


def test_added_field_needs_a_default_and_the_message_says_where_and_what_to_do() -> None:
    old = rec(fld("a", "int"))
    assert compatible(rec(fld("a", "int"), fld("b", "string", default="")), old)
    [problem] = incompatibilities(rec(fld("a", "int"), fld("b", "string")), old)
    assert problem.startswith("b: ")
    assert "no default" in problem and "give 'b' a default" in problem


def test_writer_fields_missing_from_the_reader_are_ignored() -> None:
    assert compatible(rec(fld("a", "int")), rec(fld("a", "int"), fld("gone", "string")))


def test_field_found_through_the_reader_field_aliases() -> None:
    writer = rec(fld("surname", "string"))
    assert compatible(rec(fld("family_name", "string", aliases=["surname"])), writer)
    assert not compatible(rec(fld("family_name", "string")), writer)


def test_records_match_by_unqualified_name_or_reader_aliases() -> None:
    writer = rec(fld("a", "int"), name="Old", namespace="x.y")
    assert compatible(rec(fld("a", "int"), name="Old", namespace="other"), writer)
    assert compatible(rec(fld("a", "int"), name="New", aliases=["x.y.Old"]), writer)
    assert compatible(rec(fld("a", "int"), name="New", namespace="x.y", aliases=["Old"]), writer)
    [problem] = incompatibilities(rec(fld("a", "int"), name="New"), writer)
    assert "expects record 'New'" in problem and "aliases" in problem


def test_enum_symbols_and_default() -> None:
    writer = rec(fld("e", enum("A", "B", "C")))
    [problem] = incompatibilities(rec(fld("e", enum("A", "B"))), writer)
    assert problem.startswith("e: ") and "C" in problem and "default" in problem
    assert compatible(rec(fld("e", enum("A", "B", default="A"))), writer)
    assert compatible(rec(fld("e", enum("A", "B", "C", "D"))), writer)


def test_unions() -> None:
    plain = rec(fld("s", "string"))
    nullable = rec(fld("s", ["null", "string"], default=None))
    assert compatible(nullable, plain)  # widening: a reader union with a matching branch
    [problem] = incompatibilities(plain, nullable)  # narrowing: null can no longer be read
    assert problem.startswith("s: ") and "null" in problem
    assert compatible(rec(fld("n", ["null", "long"])), rec(fld("n", "int")))
    assert compatible(rec(fld("n", ["null", "long"])), rec(fld("n", ["int", "null"])))
    assert not compatible(rec(fld("n", ["null", "string"])), rec(fld("n", ["null", "int"])))


def test_reader_union_uses_the_first_matching_branch_for_named_types() -> None:
    inner_old = rec(fld("a", "int"), name="Inner")
    inner_new = rec(fld("a", "int"), fld("b", "int"), name="Inner")  # b without default
    assert not compatible(rec(fld("i", ["null", inner_new])), rec(fld("i", inner_old)))


def test_arrays_maps_and_paths() -> None:
    writer = rec(fld("tags", {"type": "array", "items": "string"}))
    [problem] = incompatibilities(rec(fld("tags", {"type": "array", "items": "int"})), writer)
    assert problem.startswith("tags[]: ")
    counts = rec(fld("m", {"type": "map", "values": "int"}))
    assert compatible(rec(fld("m", {"type": "map", "values": "long"})), counts)
    assert incompatibilities(rec(fld("m", {"type": "map", "values": "string"})), counts)[
        0
    ].startswith("m{}: ")
    assert not compatible(rec(fld("m", {"type": "map", "values": "int"})), writer)


def test_fixed_by_name_and_size() -> None:
    def fixed(size: int, name: str = "F") -> dict[str, Any]:
        return rec(fld("f", {"type": "fixed", "name": name, "size": size}))

    assert compatible(fixed(16), fixed(16))
    assert "16 bytes" in incompatibilities(fixed(8), fixed(16))[0]
    assert not compatible(fixed(16, "G"), fixed(16))


def test_logical_types_only_count_through_their_underlying_type() -> None:
    date = {"type": "int", "logicalType": "date"}
    millis = {"type": "long", "logicalType": "timestamp-millis"}
    assert compatible(rec(fld("d", "int")), rec(fld("d", date)))
    assert compatible(rec(fld("d", millis)), rec(fld("d", date)))  # int -> long promotion
    assert not compatible(rec(fld("d", date)), rec(fld("d", millis)))


def test_nested_paths_named_references_and_recursion() -> None:
    person = rec(fld("name", "string"), name="Person", namespace="p")
    writer = rec(fld("subject", person), fld("other", "p.Person"), name="Event")
    changed = rec(fld("name", "string"), fld("dob", "int"), name="Person", namespace="p")
    reader = rec(fld("subject", changed), fld("other", "p.Person"), name="Event")
    # The shared type is reported once, at its first use.
    assert [p.split(":")[0] for p in incompatibilities(reader, writer)] == ["subject.dob"]

    node = rec(fld("value", "int"), fld("next", ["null", "Node"], default=None), name="Node")
    assert compatible(node, node)
    longer = rec(fld("value", "long"), fld("next", ["null", "Node"], default=None), name="Node")
    assert compatible(longer, node) and not compatible(node, longer)


def test_roles_name_the_schemas_and_aim_the_fix_at_the_changed_side() -> None:
    old, new = rec(fld("a", "int")), rec()
    roles = Roles(reader="version 1", writer="the new schema", changed="writer")
    [problem] = incompatibilities(old, new, roles)
    assert "version 1 has field 'a'" in problem and "keep field 'a' in the new schema" in problem


def test_unknown_names_are_reported() -> None:
    with pytest.raises(UnresolvableSchema, match="Missing"):
        incompatibilities(rec(fld("a", "Missing")), rec(fld("a", "int")))


V1 = rec(fld("x", "string"))
V2 = rec()
V3 = rec(fld("x", "int", default=0))


@pytest.mark.parametrize(
    ("level", "breaks"),
    [
        ("NONE", False),
        ("BACKWARD", False),  # v3 reads v2's data: x gets its default
        ("BACKWARD_TRANSITIVE", True),  # v3 cannot read v1's string x
        ("FORWARD", False),  # v2 ignores x
        ("FORWARD_TRANSITIVE", True),  # v1 needs a string x and cannot read v3's int
        ("FULL", False),
        ("FULL_TRANSITIVE", True),
    ],
)
def test_levels_latest_versus_transitive(level: str, breaks: bool) -> None:
    previous = [("version 1", V1), ("version 2", V2)]
    problems = check_compatibility(level, V3, previous)
    assert bool(problems) is breaks
    assert all("version 1" in p for p in problems)


def test_forward_and_full_check_the_other_direction() -> None:
    previous = [("version 1", rec(fld("a", "int")))]
    dropped = rec()
    assert check_compatibility("BACKWARD", dropped, previous) == []
    [problem] = check_compatibility("FORWARD", dropped, previous)
    assert "keep field 'a' in the new schema" in problem
    assert check_compatibility("FULL", dropped, previous) == [problem]
    added = rec(fld("a", "int"), fld("b", "int"))
    assert check_compatibility("FORWARD", added, previous) == []
    assert len(check_compatibility("FULL", added, previous)) == 1
    assert check_compatibility("full", added, []) == []
    with pytest.raises(ValueError, match="SOMETIMES"):
        check_compatibility("SOMETIMES", added, previous)


def test_catalogue_schemas_are_compatible_with_themselves() -> None:
    for event_type in load_catalogue(ROOT / "schemas" / "avro").event_types.values():
        assert check_compatibility("FULL", event_type.schema, [("v1", event_type.schema)]) == []

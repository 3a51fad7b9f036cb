"""SchemaStore: compatibility enforced on register, per-subject levels, soft and hard deletes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.registry import SchemaStore
from hub.registry.exceptions import (
    IncompatibleSchema,
    InvalidCompatibilityLevel,
    SubjectCompatibilityNotConfigured,
    SubjectNotFound,
    SubjectNotSoftDeleted,
    SubjectSoftDeleted,
    VersionNotFound,
    VersionNotSoftDeleted,
    VersionSoftDeleted,
)


def schema(*fields: tuple[str, Any], **defaults: Any) -> str:
    """A record ``Ping`` with the given (name, type) fields; keyword arguments add defaults."""
    out = []
    for name, avro_type in fields:
        field: dict[str, Any] = {"name": name, "type": avro_type}
        if name in defaults:
            field["default"] = defaults[name]
        out.append(field)
    return json.dumps({"type": "record", "name": "Ping", "fields": out})


V1 = schema(("a", "int"))
V2 = schema(("a", "int"), ("b", "string"), b="")  # a compatible addition
V3 = schema(("a", "int"), ("b", "string"), ("d", "long"), b="", d=0)
BREAKING = schema(("a", "int"), ("c", "string"))  # no default: breaks BACKWARD


@pytest.fixture
def store() -> Iterator[SchemaStore]:
    with SchemaStore() as s:
        yield s


def test_incompatible_schema_is_rejected_and_changes_nothing(store: SchemaStore) -> None:
    first = store.register("ping-value", V1)
    with pytest.raises(IncompatibleSchema) as caught:
        store.register("ping-value", BREAKING)
    assert (caught.value.error_code, caught.value.http_status) == (409, 409)
    assert "BACKWARD" in caught.value.message and "c: " in caught.value.message
    assert caught.value.problems and "give 'c' a default" in caught.value.problems[0]
    assert store.versions("ping-value") == [1]
    # No id was used up, and the same schema is fine in another subject.
    assert store.register("other-value", BREAKING) == first + 1
    assert store.register_version("ping-value", V2).version == 2


def test_already_registered_schema_is_returned_without_a_check(store: SchemaStore) -> None:
    store.set_compatibility("NONE", "ping-value")
    store.register("ping-value", V1)
    store.register("ping-value", BREAKING)
    store.set_compatibility("FULL_TRANSITIVE", "ping-value")
    assert store.register_version("ping-value", V1).version == 1


def test_subject_level_overrides_global(store: SchemaStore) -> None:
    store.register("ping-value", V1)
    store.set_compatibility("FORWARD")
    assert store.get_compatibility("ping-value") == "FORWARD"
    with pytest.raises(SubjectCompatibilityNotConfigured) as caught:
        store.get_compatibility("ping-value", default_to_global=False)
    assert caught.value.error_code == 40408
    assert store.set_compatibility("none", "ping-value") == "NONE"
    assert store.get_compatibility("ping-value", default_to_global=False) == "NONE"
    assert store.get_compatibility() == "FORWARD"
    store.register("ping-value", BREAKING)  # NONE for this subject only
    store.register("pong-value", V1)
    with pytest.raises(IncompatibleSchema, match="FORWARD"):
        store.register("pong-value", schema())  # dropping a field without default
    assert store.delete_compatibility("ping-value") == "NONE"
    assert store.get_compatibility("ping-value") == "FORWARD"
    with pytest.raises(SubjectCompatibilityNotConfigured):
        store.delete_compatibility("ping-value")
    assert store.delete_compatibility() == "FORWARD"
    assert store.get_compatibility() == "BACKWARD"
    with pytest.raises(InvalidCompatibilityLevel):
        store.set_compatibility("SOMETIMES", "ping-value")


def test_test_compatibility_against_one_or_all_versions(store: SchemaStore) -> None:
    store.set_compatibility("NONE", "ping-value")
    store.register("ping-value", schema(("a", "string")))
    store.register("ping-value", schema())
    store.set_compatibility("BACKWARD_TRANSITIVE", "ping-value")
    candidate = schema(("a", "int"), a=0)
    assert store.test_compatibility("ping-value", candidate, version="latest") == []
    assert store.test_compatibility("ping-value", candidate, version=2) == []
    [problem] = store.test_compatibility("ping-value", candidate, version=1)
    assert "version 1" in problem
    assert store.test_compatibility("ping-value", candidate) == [problem]
    assert store.test_compatibility("new-value", candidate) == []
    assert store.test_compatibility("new-value", candidate, version="latest") == []
    with pytest.raises(SubjectNotFound):
        store.test_compatibility("new-value", candidate, version=1)
    with pytest.raises(VersionNotFound):
        store.test_compatibility("ping-value", candidate, version=3)


def test_soft_delete_version_hides_it_and_frees_the_check(store: SchemaStore) -> None:
    store.register("ping-value", V1)
    store.register("ping-value", V2)
    assert store.delete_version("ping-value", 2) == 2
    assert store.versions("ping-value") == [1]
    assert store.versions("ping-value", include_deleted=True) == [1, 2]
    assert store.get_version("ping-value", "latest").version == 1
    assert store.get_version("ping-value", 2, include_deleted=True).schema.schema_str == V2
    with pytest.raises(VersionNotFound):
        store.get_version("ping-value", 2)
    with pytest.raises(VersionSoftDeleted) as caught:
        store.delete_version("ping-value", 2)
    assert caught.value.error_code == 40406
    # Registering the soft-deleted schema again makes a new version; numbers are not reused.
    assert store.register_version("ping-value", V2).version == 3
    assert store.delete_version("ping-value", "latest") == 3


def test_permanent_version_delete_needs_a_soft_delete_first(store: SchemaStore) -> None:
    store.register("ping-value", V1)
    v2_id = store.register("ping-value", V2)
    with pytest.raises(VersionNotSoftDeleted) as caught:
        store.delete_version("ping-value", 2, permanent=True)
    assert caught.value.error_code == 40407
    store.delete_version("ping-value", 2)
    assert store.get_by_id(v2_id) is not None  # soft-deleted schemas still decode old data
    assert store.delete_version("ping-value", 2, permanent=True) == 2
    assert store.versions("ping-value", include_deleted=True) == [1]
    assert store.get_by_id(v2_id) is None
    with pytest.raises(VersionNotFound):
        store.delete_version("ping-value", 2)
    with pytest.raises(SubjectNotFound):
        store.delete_version("nope-value", 1)


def test_subject_delete_soft_then_permanent(store: SchemaStore) -> None:
    store.register("ping-value", V1)
    store.register("ping-value", V2)
    store.delete_version("ping-value", 1)
    store.set_compatibility("FULL", "ping-value")
    with pytest.raises(SubjectNotSoftDeleted) as not_soft:
        store.delete_subject("ping-value", permanent=True)
    assert not_soft.value.error_code == 40405
    assert store.delete_subject("ping-value") == [2]
    assert store.subjects() == []
    assert store.subjects(include_deleted=True) == ["ping-value"]
    with pytest.raises(SubjectNotFound):
        store.versions("ping-value")
    with pytest.raises(SubjectCompatibilityNotConfigured):  # its level went with it
        store.get_compatibility("ping-value", default_to_global=False)
    with pytest.raises(SubjectSoftDeleted) as soft:
        store.delete_subject("ping-value")
    assert soft.value.error_code == 40404
    assert store.delete_subject("ping-value", permanent=True) == [1, 2]
    assert store.subjects(include_deleted=True) == []
    with pytest.raises(SubjectNotFound):
        store.delete_subject("ping-value")


def test_ids_survive_deletes_and_restarts_and_are_never_reused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with SchemaStore(url) as first:
        v1_id = first.register("ping-value", V1)
        v2_id = first.register("ping-value", V2)
        first.set_compatibility("NONE", "other-value")
        first.delete_subject("ping-value")
        first.delete_subject("ping-value", permanent=True)
    with SchemaStore(url) as second:
        assert second.get_by_id(v1_id) is None
        assert second.get_compatibility("other-value") == "NONE"
        # The same schema comes back with its old id, a new one gets a fresh id.
        assert second.register("ping-value", V2) == v2_id
        assert second.versions("ping-value") == [1]
        assert second.register("ping-value", V3) > v2_id
        assert second.register("again-value", V1) == v1_id

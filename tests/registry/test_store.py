"""SchemaStore: global stable ids, subject versions, validation that changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hub.catalogue import load_catalogue
from hub.errors import RegistryError, SchemaNotFound, Terminal
from hub.registry import SchemaStore
from hub.registry.exceptions import (
    InvalidCompatibilityLevel,
    InvalidSchema,
    InvalidVersion,
    SchemaNotRegistered,
    SubjectNotFound,
    VersionNotFound,
)

_CONCERN_TYPE = load_catalogue(Path(__file__).resolve().parents[2] / "schemas" / "avro").get(
    "safeguarding-concern"
)
assert _CONCERN_TYPE is not None
CONCERN = _CONCERN_TYPE.schema_str


def record(name: str = "Ping", field: dict[str, object] | None = None) -> str:
    """A one-field record schema; ``field`` adds or overrides attributes of the field."""
    fields = [{"name": "n", "type": "int", **(field or {})}]
    return json.dumps({"type": "record", "name": name, "fields": fields})


@pytest.fixture
def store() -> Iterator[SchemaStore]:
    with SchemaStore() as s:
        yield s


def test_ids_are_stable_across_reopening_a_file_db(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with SchemaStore(url) as first:
        concern_id = first.register("concern-value", CONCERN)
        ping_id = first.register("ping-value", record())
        first.set_compatibility("FULL")
    with SchemaStore(url) as second:
        assert second.register("concern-value", CONCERN) == concern_id
        assert second.register("other-value", record()) == ping_id
        assert second.versions("concern-value") == [1]
        assert second.get_compatibility() == "FULL"
        stored = second.get_by_id(concern_id)
        assert stored is not None and stored.schema_str == CONCERN
        assert second.register("x-value", record("Fresh")) not in (concern_id, ping_id)


def test_same_schema_gets_same_id_across_subjects_and_formatting(store: SchemaStore) -> None:
    schema_id = store.register("a-value", CONCERN)
    reformatted = json.dumps(json.loads(CONCERN), indent=None, sort_keys=True)
    assert store.register("b-value", reformatted) == schema_id
    assert store.register("a-value", reformatted) == schema_id
    assert store.versions("a-value") == [1]
    assert store.subjects() == ["a-value", "b-value"]
    assert store.usages(schema_id) == [("a-value", 1), ("b-value", 1)]


def test_text_is_stored_as_submitted_with_custom_attributes(store: SchemaStore) -> None:
    stored = store.get_by_id(store.register("c-value", CONCERN))
    assert stored is not None
    assert stored.schema_str == CONCERN
    assert stored.schema_type == "AVRO"
    fields = {f["name"]: f for f in json.loads(stored.schema_str)["fields"]}
    assert fields["source_reference"]["hub.tags"] == ["pii.quasi", "reference"]
    assert store.get_by_guid(stored.guid) == stored


def test_changed_schema_becomes_next_version(store: SchemaStore) -> None:
    store.set_compatibility("NONE", "ping-value")  # Ping -> Pong is a breaking rename
    v1 = store.register("ping-value", record())
    v2 = store.register("ping-value", record(name="Pong"))
    assert v1 != v2
    assert store.versions("ping-value") == [1, 2]
    assert store.get_version("ping-value", "latest").schema.schema_id == v2
    assert store.get_version("ping-value", 1).schema.schema_id == v1
    # An older schema already live under the subject keeps its version.
    assert store.register_version("ping-value", record()).version == 1
    assert store.versions("ping-value") == [1, 2]


@pytest.mark.parametrize(
    "changed",
    [record(field={"doc": "now documented"}), record(field={"hub.tags": ["pii.direct"]})],
    ids=["doc", "hub.tags"],
)
def test_doc_and_tag_changes_are_new_schemas(store: SchemaStore, changed: str) -> None:
    # Parsing Canonical Form would call these equal and hand back the old tags.
    original = store.register("ping-value", record())
    assert store.register("ping-value", changed) != original
    latest = store.get_version("ping-value", "latest")
    assert latest.version == 2 and latest.schema.schema_str == changed


@pytest.mark.parametrize(
    ("schema", "schema_type", "says"),
    [
        ("{not json", "AVRO", "not valid JSON"),
        (record(field={"type": "Nope"}), "AVRO", "unknown type name 'Nope'"),
        ('{"type": "enum", "name": "E"}', "AVRO", "missing required attribute 'symbols'"),
        ("42", "AVRO", "must be a JSON object"),
        ('{"type": "string"}', "PROTOBUF", "supports only AVRO"),
    ],
)
def test_invalid_schema_is_rejected_and_changes_nothing(
    store: SchemaStore, schema: str, schema_type: str, says: str
) -> None:
    first = store.register("ping-value", record())
    with pytest.raises(InvalidSchema, match=says) as caught:
        store.register("ping-value", schema, schema_type)
    assert caught.value.error_code == 42201 and caught.value.http_status == 422
    with pytest.raises(InvalidSchema):
        store.register("new-value", schema, schema_type)
    assert store.subjects() == ["ping-value"]
    assert store.versions("ping-value") == [1]
    # No id was used up by the rejected request.
    assert store.register("pong-value", record("Pong")) == first + 1


def test_missing_subject_version_and_schema(store: SchemaStore) -> None:
    store.register("ping-value", record())
    with pytest.raises(SubjectNotFound, match="Subject 'nope' not found"):
        store.versions("nope")
    with pytest.raises(SubjectNotFound):
        store.get_version("nope", "latest")
    with pytest.raises(VersionNotFound, match="Version 7 not found"):
        store.get_version("ping-value", 7)
    with pytest.raises(VersionNotFound):
        store.get_version("ping-value", 0)
    assert store.get_by_id(999) is None
    assert store.get_by_id(-1) is None
    assert store.get_by_id(2**70) is None
    with pytest.raises(SchemaNotRegistered):
        store.usages(999)


def test_lookup(store: SchemaStore) -> None:
    store.set_compatibility("NONE")
    store.register("ping-value", record())
    store.register("ping-value", record("Pong"))
    found = store.lookup("ping-value", record("Pong"))
    assert (found.subject, found.version) == ("ping-value", 2)
    with pytest.raises(SchemaNotRegistered):
        store.lookup("ping-value", record("Other"))
    with pytest.raises(SubjectNotFound):
        store.lookup("nope", record())
    with pytest.raises(InvalidSchema):
        store.lookup("ping-value", "{")


def test_compatibility_is_stored(store: SchemaStore) -> None:
    assert store.get_compatibility() == "BACKWARD"
    assert store.set_compatibility("full_transitive") == "FULL_TRANSITIVE"
    assert store.get_compatibility() == "FULL_TRANSITIVE"
    with pytest.raises(InvalidCompatibilityLevel) as caught:
        store.set_compatibility("SOMETIMES")
    assert caught.value.error_code == 42203
    assert store.get_compatibility() == "FULL_TRANSITIVE"


def test_errors_fit_the_hub_error_tree() -> None:
    for not_found in (SubjectNotFound, VersionNotFound, SchemaNotRegistered):
        assert issubclass(not_found, SchemaNotFound)
    for terminal in (InvalidSchema, InvalidVersion, InvalidCompatibilityLevel):
        assert issubclass(terminal, RegistryError) and issubclass(terminal, Terminal)
    assert (SubjectNotFound.error_code, VersionNotFound.error_code) == (40401, 40402)
    assert SchemaNotRegistered.error_code == 40403
    assert InvalidVersion.error_code == 42202


def test_concurrent_registration_from_threads(tmp_path: Path) -> None:
    with SchemaStore(f"sqlite:///{tmp_path / 'r.db'}") as store:
        store.set_compatibility("NONE", "shared-value")
        schemas = [record(f"R{i % 5}") for i in range(40)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = list(pool.map(lambda s: store.register("shared-value", s), schemas))
        assert len(set(ids)) == 5
        assert store.versions("shared-value") == [1, 2, 3, 4, 5]
        for schema, schema_id in zip(schemas, ids, strict=True):
            assert store.lookup("shared-value", schema).schema.schema_id == schema_id

"""The generated standalone schemas (schemas/avro/standalone/) match the catalogue, and
``hub schemas check`` fails when one drifts, goes missing or is left over."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import fastavro

from hub.catalogue.schemas import EVENT_TYPE_ATTR, load_catalogue
from hub.catalogue.standalone import STANDALONE_DIR, drift, write_standalone
from hub.cli.main import build_parser
from hub.config import project_root

SCHEMAS = project_root() / "schemas" / "avro"


def test_committed_files_match_the_catalogue() -> None:
    catalogue = load_catalogue(SCHEMAS)
    assert drift(catalogue, SCHEMAS / STANDALONE_DIR) == []
    for event_type in catalogue.event_types.values():
        path = SCHEMAS / STANDALONE_DIR / f"{event_type.slug}.avsc"
        schema = json.loads(path.read_text())
        # Self-contained: parses with no named types given, and names its event type.
        fastavro.parse_schema(schema, named_schemas={})
        assert schema[EVENT_TYPE_ATTR] == event_type.slug


def test_drift_is_a_finding_and_regeneration_fixes_it(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    repo = tmp_path
    schemas = repo / "schemas" / "avro"
    shutil.copytree(SCHEMAS, schemas)
    generated = schemas / STANDALONE_DIR
    (generated / "missing-episode.avsc").unlink()
    (generated / "gone.avsc").write_text("{}")
    concern = generated / "safeguarding-concern.avsc"
    concern.write_text(concern.read_text().replace('"doc"', '"doc" ', 1))
    catalogue = load_catalogue(schemas)
    assert sorted(name for name, _ in drift(catalogue, generated)) == [
        "gone.avsc",
        "missing-episode.avsc",
        "safeguarding-concern.avsc",
    ]
    args = build_parser().parse_args(["schemas", "check", "--repo", str(repo)])
    assert args.handler(args) == 1
    out = capsys.readouterr().out
    assert "schemas/avro/standalone/missing-episode.avsc: <file>: missing" in out
    write_standalone(catalogue, generated)
    assert drift(catalogue, generated) == []
    assert not (generated / "gone.avsc").exists()

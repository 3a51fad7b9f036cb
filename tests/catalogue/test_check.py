"""`hub schemas check`: docs, tags on personal fields, compatibility with a git revision."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hub.catalogue.check import Finding, run_check
from tests.cli.command import run

ROOT = Path(__file__).resolve().parents[2]
CONCERN = "schemas/avro/SafeguardingConcern.avsc"
PERSON = "schemas/avro/common/Person.avsc"


def copy_schemas(repo: Path) -> Path:
    shutil.copytree(ROOT / "schemas" / "avro", repo / "schemas" / "avro")
    return repo


def edit(repo: Path, rel: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = repo / rel
    schema = json.loads(path.read_text())
    change(schema)
    path.write_text(json.dumps(schema, indent=2))


def field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=Schema CI", "-c", "user.email=ci@example.invalid"]
    subprocess.run(["git", "-C", str(repo), *identity, *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A throwaway repository whose one commit holds today's schemas."""
    copy_schemas(tmp_path)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "schemas")
    git(tmp_path, "commit", "-q", "-m", "schemas as they are")
    return tmp_path


def messages(findings: list[Finding]) -> list[str]:
    return [str(f) for f in findings]


def test_current_tree_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check(ROOT, base=None).findings == []
    assert run(["schemas", "check"]) == 0
    assert "event types documented and tagged" in capsys.readouterr().err


def test_missing_docs_are_reported_per_file_and_path(tmp_path: Path) -> None:
    repo = copy_schemas(tmp_path)
    edit(repo, CONCERN, lambda s: field(s, "narrative").pop("doc"))
    edit(repo, PERSON, lambda s: s.pop("doc"))
    found = messages(run_check(repo, base=None).findings)
    assert found == [
        f'{CONCERN}: narrative: field has no doc; add a "doc" saying what it holds',
        f"{PERSON}: <top level>: record 'Person' has no doc; add a \"doc\" saying what it is",
    ]


def test_untagged_personal_fields_are_reported(tmp_path: Path) -> None:
    repo = copy_schemas(tmp_path)

    def add_fields(schema: dict[str, Any]) -> None:
        schema["fields"] += [
            {"name": "carer_name", "type": ["null", "string"], "default": None, "doc": "Carer."},
            {
                "name": "carer",
                "type": ["null", "uk.partnership.hub.common.Person"],
                "default": None,
                "doc": "The carer.",
            },
            {
                "name": "case_notes",
                "type": {"type": "array", "items": "string"},
                "default": [],
                "doc": "Notes.",
            },
            {"name": "name_count", "type": "int", "default": 0, "doc": "Not personal: an int."},
            {
                "name": "notes_reviewed",
                "type": "string",
                "default": "",
                "doc": "Reviewed.",
                "hub.tags": [],
            },
        ]

    edit(repo, CONCERN, add_fields)
    edit(repo, PERSON, lambda s: field(s, "date_of_birth").pop("hub.tags"))
    found = run_check(repo, base=None).findings
    assert [(f.file, f.path) for f in found] == [
        (CONCERN, "carer_name"),
        (CONCERN, "carer"),
        (CONCERN, "case_notes"),
        (PERSON, "date_of_birth"),
    ]
    assert all("personal data" in f.message and '"hub.tags": []' in f.message for f in found)


def test_without_git_only_docs_and_tags_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = copy_schemas(tmp_path)  # not a git repository
    report = run_check(repo, base="HEAD")
    assert report.ok and report.compared == 0
    assert "checked docs and tags only" in report.notes[0]
    assert run(["schemas", "check", "--repo", str(repo)]) == 0
    assert "not available" in capsys.readouterr().err


def test_unchanged_and_compatible_changes_pass(repo: Path) -> None:
    assert run_check(repo).ok and run_check(repo).compared == len(
        list((repo / "schemas" / "avro").glob("*.avsc"))
    )
    edit(
        repo,
        CONCERN,
        lambda s: s["fields"].append(
            {
                "name": "review_due",
                "type": ["null", "string"],
                "default": None,
                "doc": "When the concern is due for review.",
                "hub.tags": [],
            }
        ),
    )
    new_event = json.loads((repo / CONCERN).read_text())
    new_event.update(name="BrandNew", **{"hub.event_type": "brand-new"})
    new_event["fields"].append({"name": "x", "type": "int", "doc": "No default: new type."})
    (repo / "schemas/avro/BrandNew.avsc").write_text(json.dumps(new_event))
    assert run_check(repo).ok


def test_field_added_without_default_fails(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(
        repo,
        CONCERN,
        lambda s: s["fields"].append(
            {"name": "review_due", "type": "string", "doc": "Review date.", "hub.tags": []}
        ),
    )
    [finding] = run_check(repo).findings
    assert (finding.file, finding.path) == (CONCERN, "review_due")
    assert "incompatible (BACKWARD) with HEAD" in finding.message
    assert "give 'review_due' a default" in finding.message
    assert run(["schemas", "check", "--repo", str(repo)]) == 1
    out = capsys.readouterr().out.splitlines()
    # The generated standalone file (what partners copy) now differs from the schema too.
    assert out == [
        str(finding),
        "schemas/avro/standalone/safeguarding-concern.avsc: <file>: differs from the schema "
        "the catalogue builds: regenerate with `hub schemas standalone`",
    ]


def test_removed_enum_symbol_fails_unless_the_enum_has_a_default(repo: Path) -> None:
    def drop_other(schema: dict[str, Any]) -> None:
        field(schema, "concern_category")["type"]["symbols"].remove("OTHER")

    edit(repo, CONCERN, drop_other)
    [finding] = run_check(repo).findings
    assert finding.path == "concern_category" and "OTHER" in finding.message
    edit(repo, CONCERN, lambda s: field(s, "concern_category")["type"].update(default="CSE"))
    assert run_check(repo).ok


def test_change_in_a_shared_type_is_found_through_the_events_using_it(repo: Path) -> None:
    edit(repo, PERSON, lambda s: field(s, "given_name").update(type="int"))
    found = {f.file: f for f in run_check(repo).findings}
    # Every event using Person breaks, each reported at its own path in its own file.
    assert len(found) > 1
    assert all(f.path.endswith(".given_name") for f in found.values())
    assert found[CONCERN].path == "subject.given_name"
    assert "reads int where the schema at HEAD writes string" in found[CONCERN].message


def test_hub_compatibility_attribute_sets_the_level(repo: Path) -> None:
    def drop_narrative(schema: dict[str, Any]) -> None:
        schema["fields"].remove(field(schema, "narrative"))

    edit(repo, CONCERN, drop_narrative)
    assert run_check(repo).ok  # BACKWARD: the new schema just ignores the old field
    edit(repo, CONCERN, lambda s: s.update({"hub.compatibility": "FULL"}))
    [finding] = run_check(repo).findings
    assert "incompatible (FULL)" in finding.message and "keep field 'narrative'" in finding.message
    edit(repo, CONCERN, lambda s: s.update({"hub.compatibility": "sometimes"}))
    [bad_level] = run_check(repo).findings
    assert bad_level.path == "<top level>" and "hub.compatibility" in bad_level.message


def test_base_revision_can_be_any_commit(repo: Path) -> None:
    edit(repo, CONCERN, lambda s: s["fields"].remove(field(s, "narrative")))
    git(repo, "commit", "-q", "-am", "drop narrative")
    edit(repo, CONCERN, lambda s: s.update({"hub.compatibility": "FORWARD"}))
    assert run_check(repo).ok  # against HEAD nothing was removed
    [finding] = run_check(repo, base="HEAD~1").findings
    assert "incompatible (FORWARD) with HEAD~1" in finding.message

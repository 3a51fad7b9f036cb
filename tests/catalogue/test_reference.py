"""The partner-facing catalogue page: rendered from the schemas, committed, never drifting."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.catalogue import Catalogue
from hub.catalogue.expand import load_named_types
from hub.catalogue.reference import (
    TAG_MEANINGS,
    main,
    render_catalogue,
    write_catalogue_docs,
)
from hub.catalogue.schemas import event_type_from_schema

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "partners" / "catalogue.md"


@pytest.fixture(scope="module")
def page(catalogue: Catalogue) -> str:
    return render_catalogue(catalogue)


def section(page: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    start = page.index(f"\n{heading}\n")
    rest = page[start + len(heading) + 2 :]
    ends = [rest.find(f"\n{'#' * n} ") for n in range(2, len(level) + 1)]
    ends = [e for e in ends if e >= 0]
    return rest[: min(ends)] if ends else rest


def test_committed_page_is_a_fresh_render(page: str) -> None:
    assert COMMITTED.read_text(encoding="utf-8") == page, (
        "docs/partners/catalogue.md is out of date: run `hub schemas docs` "
        "(python -m hub.catalogue.reference) and commit the result"
    )


def test_page_says_it_is_generated(page: str) -> None:
    first = page.splitlines()[0]
    assert first.startswith("<!--") and first.endswith("-->")
    assert "`hub schemas docs`" in first and "not edit by hand" in first


def test_every_event_type_with_topic_doc_and_every_field(page: str, catalogue: Catalogue) -> None:
    for et in catalogue.event_types.values():
        text = section(page, f"### `{et.slug}`")
        assert f"`partner.<partner>.{et.slug}.v1`" in text
        assert " ".join(et.schema["doc"].split()) in text
        for f in et.fields:
            assert f"| `{f.name}` |" in text, f"{et.slug}.{f.path} missing"
        assert f"- [`{et.slug}`](#{et.slug}): {et.name}" in page


def test_nested_event_records_are_dotted_and_shared_types_rendered_once(page: str) -> None:
    missing = section(page, "### `missing-episode`")
    assert "| `return_home_interview.within_72_hours` | `boolean?` |" in missing
    assert "| `person` | [`Person`](#person) | `person` |" in missing
    assert "person.given_name" not in missing  # described once, under Shared types
    shared = section(page, "## Shared types")
    for name in ("Envelope", "Person", "Location", "OrganisationRef", "Borough", "SubjectKind"):
        assert page.count(f"\n### {name}\n") == 1
        assert f"\n### {name}\n" in shared
    person = section(page, "### Person")
    assert "| `given_name` | `string` | `pii.direct`, `identity`, `name` |" in person
    assert "| `gender` | [`enum Gender`](#gender) | `pii.quasi` |" in person


def test_readable_types(page: str) -> None:
    concern = section(page, "### `safeguarding-concern`")
    assert "| `risk_level` | `enum RiskLevel` | none |" in concern
    assert "- **enum `RiskLevel`**: `LOW`, `MEDIUM`, `HIGH`." in concern
    assert "| `subject_kind` | [`enum SubjectKind`](#subjectkind) | none |" in concern
    assert "Default: `UNKNOWN`." in concern
    assert "| `aliases` | `array<string>` |" in page
    assert "| `date_of_birth` | `date?` |" in page
    victim = section(page, "### `modern-slavery-referral`")
    assert "| `potential_victim` | [`Person?`](#person) | `person` |" in victim
    ed = section(page, "### `assault-attendance`")
    assert "Values: `0-15`, `16-24`," in ed
    assert "| `assault_time` | `time-millis?` |" in ed


def test_every_tag_used_is_explained(page: str) -> None:
    tags = section(page, "## Tags")
    assert "Undocumented tag" not in tags
    for tag in ("pii.direct", "criminal-offence", "child", "related-person"):
        assert f"| `{tag}` | {TAG_MEANINGS[tag]} |" in tags


def test_table_cells_stay_on_one_line() -> None:
    schema = {
        "type": "record",
        "name": "Odd",
        "namespace": "uk.partnership.hub.events",
        "doc": "A test type.",
        "hub.event_type": "odd",
        "fields": [
            {
                "name": "choice",
                "type": ["null", "int", "string"],
                "default": None,
                "doc": "Either | or,\nacross lines.",
                "hub.tags": [],
            },
            {
                "name": "where",
                "type": "uk.partnership.hub.common.Location",
                "doc": "A place.",
                "hub.tags": [],
            },
        ],
    }
    shared = load_named_types(ROOT / "schemas" / "avro" / "common")
    et = event_type_from_schema(schema, shared=shared)
    page = render_catalogue(Catalogue({"odd": et}))
    assert "| `choice` | `(int \\| string)?` | none | Either \\| or, across lines. |" in page
    assert "| `where` | [`Location`](#location) | none | A place. |" in page


def test_write_only_when_changed(tmp_path: Path, page: str) -> None:
    out = tmp_path / "docs" / "catalogue.md"
    assert write_catalogue_docs(ROOT / "schemas" / "avro", out) is True
    assert out.read_text(encoding="utf-8") == page
    assert write_catalogue_docs(ROOT / "schemas" / "avro", out) is False
    assert main([str(out)]) == 0

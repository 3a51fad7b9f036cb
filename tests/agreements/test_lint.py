"""`hub agreements lint` passes on the reference partnership and catches each problem."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.agreements import Agreement
from hub.agreements.lint import Finding, Linter, Severity
from hub.agreements.partnership import Partnership, load_partnership
from hub.catalogue import Catalogue
from hub.cli.agreements import json_schema
from hub.demo.samples import sample_events

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def partnership() -> Partnership:
    return load_partnership(ROOT / "partnership")


@pytest.fixture
def linter(catalogue: Catalogue, partnership: Partnership) -> Linter:
    return Linter(catalogue, partnership, sample_events, NOW)


def variant(base: Agreement, **changes: Any) -> Agreement:
    data = base.model_dump(mode="json")
    for key, value in changes.items():
        target = data
        *parents, leaf = key.split("__")
        for p in parents:
            target = target[p]
        target[leaf] = value
    return Agreement.model_validate(data)


def codes(findings: list[Finding]) -> set[str]:
    return {f.code for f in findings}


def by_id(agreements: list[Agreement], agreement_id: str) -> Agreement:
    return next(a for a in agreements if a.id == agreement_id)


def test_reference_partnership_is_clean(
    linter: Linter, reference_agreements: list[Agreement]
) -> None:
    assert linter.lint(reference_agreements) == []


def test_special_category_without_article9(
    linter: Linter, reference_agreements: list[Agreement]
) -> None:
    a = variant(
        by_id(reference_agreements, "police-msn"),
        legal_basis__article9=None,
        legal_basis__schedule1=None,
        legal_basis__dpa_part3=None,
    )
    [f] = [f for f in linter.lint([a]) if f.code == "special-category-without-art9"]
    assert f.clause == "category" and "concern_category" in f.message


def test_article9_needs_schedule1(linter: Linter, reference_agreements: list[Agreement]) -> None:
    a = variant(by_id(reference_agreements, "police-msn"), legal_basis__schedule1=None)
    assert "article9-without-schedule1" in codes(linter.lint([a]))


def test_patient_information_under_s16(
    linter: Linter, reference_agreements: list[Agreement]
) -> None:
    a = variant(
        by_id(reference_agreements, "police-msn"),
        providers=["nhs-cm"],
        legal_basis__gateways=["Police, Crime, Sentencing and Courts Act 2022 s16"],
    )
    [f] = [f for f in linter.lint([a]) if f.code == "patient-information-gateway"]
    assert "nhs-cm" in f.message and f.severity is Severity.ERROR


def test_children_need_a_stated_treatment(
    linter: Linter, reference_agreements: list[Agreement]
) -> None:
    a = variant(by_id(reference_agreements, "police-msn"), children_data=None)
    assert "children-without-high-privacy" in codes(linter.lint([a]))


def test_unknown_field_and_tag(linter: Linter, reference_agreements: list[Agreement]) -> None:
    base = by_id(reference_agreements, "police-msn")
    clauses = [c.model_dump() for c in base.fields]
    bad_field = variant(
        base, fields=[*clauses, {"id": "x", "field": "subject.shoe_size", "treatment": "keep"}]
    )
    [f] = [f for f in linter.lint([bad_field]) if f.code == "clause-invalid"]
    assert f.clause == "x" and "shoe_size" in f.message
    bad_tag = variant(
        base, fields=[*clauses, {"id": "y", "tag": "pii.secret", "treatment": "drop"}]
    )
    [g] = [f for f in linter.lint([bad_tag]) if f.code == "clause-invalid"]
    assert g.clause == "y"


def test_conditions_are_checked(linter: Linter, reference_agreements: list[Agreement]) -> None:
    base = by_id(reference_agreements, "police-msn")
    wrong_type = variant(base, condition="event.risk_level > 2")
    [f] = [f for f in linter.lint([wrong_type]) if f.code == "condition-type"]
    assert f.severity is Severity.ERROR
    missing = variant(base, condition='event.risk == "HIGH"')
    assert "condition-type" in codes(linter.lint([missing]))
    syntax = variant(base, condition="event.risk_level ==")
    assert "condition-syntax" in codes(linter.lint([syntax]))
    unguarded = variant(
        by_id(reference_agreements, "police-liverpool-mash"), condition="facts.subject_age < 18"
    )
    [w] = [f for f in linter.lint([unguarded]) if f.code == "condition-type"]
    assert w.severity is Severity.WARNING, "fails only when the date of birth is unknown"


def test_overlapping_agreements(linter: Linter, reference_agreements: list[Agreement]) -> None:
    mash = by_id(reference_agreements, "police-liverpool-mash")
    twin = variant(mash, id="police-liverpool-mash-copy", condition='event.borough == "LIVERPOOL"')
    [f] = [f for f in linter.lint([mash, twin]) if f.code == "overlap"]
    assert "liverpool-mash" in f.message
    disjoint = variant(mash, id="police-liverpool-mash-low", condition='event.risk_level == "LOW"')
    assert "overlap" not in codes(linter.lint([mash, disjoint]))
    v2 = variant(mash, version=2, supersedes=1)
    assert "versions-overlap" in codes(linter.lint([mash, v2]))


def test_review_overdue_and_unknown_parties(
    linter: Linter, reference_agreements: list[Agreement]
) -> None:
    a = variant(
        by_id(reference_agreements, "police-msn"),
        review_date="2026-01-01",
        recipients=["atlantis-mash"],
        event_types=["safeguarding-concern", "telepathy"],
    )
    found = codes(linter.lint([a]))
    assert {"review-overdue", "unknown-party", "unknown-event-type"} <= found


def test_unknown_gateway_is_refused_on_load(reference_agreements: list[Agreement]) -> None:
    with pytest.raises(ValueError, match="maintained list"):
        variant(reference_agreements[0], legal_basis__gateways=["Made Up Act 2030 s1"])


def test_published_json_schema_is_current() -> None:
    assert (ROOT / "partnership" / "agreement.schema.json").read_text() == json_schema()


def test_a_lawful_basis_and_gateway_are_required(
    linter: Linter, reference_agreements: list[Agreement]
) -> None:
    a = variant(
        by_id(reference_agreements, "police-msn"),
        legal_basis__article6=None,
        legal_basis__dpa_part3=None,
        legal_basis__gateways=[],
    )
    assert {"no-lawful-basis", "no-gateway"} <= codes(linter.lint([a]))


def test_published_register_is_current(reference_agreements: list[Agreement]) -> None:
    from hub.agreements.register import render_register

    assert (ROOT / "docs" / "governance" / "register.md").read_text() == render_register(
        reference_agreements
    )


def test_lifecycle_findings(linter: Linter, reference_agreements: list[Agreement]) -> None:
    """Lint says what the engine will do with the versions on disk (issue 15 item 5)."""
    wirral = by_id(reference_agreements, "police-wirral-mash-missing")
    police_only = [s.model_dump(mode="json") for s in wirral.approval.sign_off[:1]]
    awaiting = variant(wirral, version=2, supersedes=1, approval__sign_off=police_only)
    [f] = [f for f in linter.lint([wirral, awaiting]) if f.code == "approved-not-in-force"]
    assert f.agreement == "police-wirral-mash-missing@v2" and "missing: wirral-mbc" in f.message
    assert "police-wirral-mash-missing@v1 governs until it is" in f.message
    # Nothing in force (v1 expired, v2 unsigned): nothing is shared, and lint says so.
    expired = variant(wirral, effective_to="2026-10-31")
    assert "nothing-in-force" in codes(linter.lint([expired, awaiting]))
    # A draft older than the version that governs can never govern.
    draft = variant(wirral, status="draft", approval={})
    v3 = variant(wirral, version=3, supersedes=1)
    assert "never-governs" in codes(linter.lint([draft, v3]))
    # Every party is a controller (so must sign); sign-offs count only for controllers.
    no_council = variant(wirral, controllers=["merseyside-police"])
    [f] = [f for f in linter.lint([no_council]) if f.code == "controllers-incomplete"]
    assert "wirral-mbc" in f.message
    stranger = variant(
        wirral, approval__sign_off=[*police_only, {"by": "x", "at": "2026-01-01T00:00:00Z"}]
    )
    assert "sign-off-not-a-controller" in codes(linter.lint([stranger]))
    # hub-analytics provides linkage alerts and nothing else.
    hub = variant(wirral, providers=["hub-analytics"])
    assert "hub-provider" in codes(linter.lint([hub]))
    alert = by_id(reference_agreements, "linkage-alerts-iom")
    assert "hub-provider" in codes(linter.lint([variant(alert, providers=["merseyside-police"])]))
    assert "hub-provider" not in codes(linter.lint([alert]))


def test_overlap_is_judged_between_the_versions_that_govern(
    linter: Linter, reference_agreements: list[Agreement]
) -> None:
    """v1 overlaps another agreement, but v2 (in force, narrowed) governs: no overlap."""
    mash = by_id(reference_agreements, "police-liverpool-mash")
    twin = variant(mash, id="police-liverpool-mash-copy", condition='event.risk_level == "LOW"')
    v2 = variant(mash, version=2, supersedes=1, condition='event.risk_level == "HIGH"')
    assert "overlap" not in codes(linter.lint([mash, v2, twin]))
    assert "overlap" in codes(linter.lint([variant(mash, condition=None), twin]))

"""Agreements and SafeguardingConcern events built in code, for privacy tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hub.agreements import Agreement
from hub.catalogue import EventType

EVENT_ID = "0b7e6a0e-5f51-4d63-9c1a-2f0a8f0d7c11"


def agreement(clauses: list[dict[str, Any]], ref_id: str = "test-sharing") -> Agreement:
    """An approved, signed agreement with these field clauses (only the clauses matter)."""
    return Agreement.model_validate(
        {
            "id": ref_id,
            "version": 1,
            "title": "Test sharing",
            "purpose": "Exercise the privacy operators.",
            "status": "approved",
            "controllers": ["merseyside-police"],
            "providers": ["merseyside-police"],
            "recipients": ["modern-slavery-network"],
            "legal_basis": {"article6": "6(1)(e) public task"},
            "event_types": ["safeguarding-concern"],
            "fields": clauses,
            "retention": "P1Y",
            "review_date": date(2027, 1, 1),
            "effective_from": date(2026, 1, 1),
            "approval": {
                "dpo_review": {"by": "DPO", "at": datetime(2025, 11, 1, tzinfo=UTC)},
                "sign_off": [{"by": "Officer", "at": datetime(2025, 11, 2, tzinfo=UTC)}],
            },
        }
    )


def person(**overrides: Any) -> dict[str, Any]:
    subject: dict[str, Any] = {
        "given_name": "Kayden",
        "family_name": "O'Brien",
        "aliases": [],
        "date_of_birth": date(2011, 3, 4),
        "gender": "MALE",
        "nhs_number": None,
        "pnc_id": None,
        "address": "12 Lodge Lane",
        "postcode": "L8 1TX",
    }
    subject.update(overrides)
    return subject


def concern_event(
    subject: dict[str, Any] | None = None,
    narrative: str = "Concern raised by the reporting officer.",
    **subject_overrides: Any,
) -> dict[str, Any]:
    """A decoded SafeguardingConcern, as the processor hands it to the transformer."""
    return {
        "envelope": {
            "event_id": EVENT_ID,
            "event_type": "safeguarding-concern",
            "source_partner": "merseyside-police",
            "occurred_at": datetime(2026, 11, 2, 9, 15, tzinfo=UTC),
            "recorded_at": datetime(2026, 11, 2, 10, 2, tzinfo=UTC),
            "schema_version": 1,
            "revision": 1,
            "correlation_id": None,
            "classification": "OFFICIAL_SENSITIVE",
        },
        "source_reference": "MP-2026-118734",
        "subject": subject if subject is not None else person(**subject_overrides),
        "concern_category": "COUNTY_LINES",
        "risk_level": "HIGH",
        "borough": "LIVERPOOL",
        "narrative": narrative,
    }


def with_defaults(event: dict[str, Any], event_type: EventType) -> dict[str, Any]:
    """Fill fields the schema has gained since these builders were written from their
    Avro defaults, so the builders keep producing valid events as the schema evolves."""
    out = dict(event)
    for f in event_type.schema["fields"]:
        if f["name"] not in out and "default" in f:
            out[f["name"]] = f["default"]
    return out

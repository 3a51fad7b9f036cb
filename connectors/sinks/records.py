"""Helpers shared by sinks: disclosures as JSON, and the few columns a case system lists.

Recipient records differ by agreement (identified for a MASH, tokens and age bands for the
Modern Slavery Network), so summaries look fields up by the names the catalogue uses and
leave a column empty when the recipient's schema does not carry it.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

PERSON_FIELDS = ("subject", "person", "victim", "child", "occupier", "nominal", "potential_victim")


def json_default(value: Any) -> str:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(value: Any) -> str:
    return json.dumps(value, default=json_default, sort_keys=True)


def person(record: dict[str, Any]) -> dict[str, Any]:
    for name in PERSON_FIELDS:
        value = record.get(name)
        if isinstance(value, dict):
            return value
    return {}


def first(record: dict[str, Any], *names: str) -> Any:
    for name in names:
        value = record.get(name)
        if value is not None and value != []:
            return value
    return None


def text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ";".join(str(v) for v in value) or None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def summary(record: dict[str, Any]) -> dict[str, str | None]:
    """Columns a case-system queue shows; None where the recipient's schema lacks them."""
    p = person(record)
    name = " ".join(v for v in (p.get("given_name"), p.get("family_name")) if v) or None
    location = first(record, "incident_location", "location", "exploitation_location")
    borough = first(record, "borough", "yjs_borough", "receiving_authority")
    if borough is None and isinstance(location, dict):
        borough = location.get("borough")
    return {
        "person_name": name,
        "person_token": text(p.get("token")),
        "date_of_birth": text(p.get("date_of_birth")),
        "age_band": text(p.get("age_band")),
        "pnc_id": text(p.get("pnc_id")),
        "borough": text(borough),
        "category": text(
            first(
                record,
                "concern_category",
                "concern_categories",
                "referral_kind",
                "update_kind",
                "change",
                "outcome_type",
                "abuse_types",
                "exploitation_types",
                "vulnerability_factors",
                "weapon",
            )
        ),
        "risk": text(
            first(
                record, "risk_level", "risk_grading", "dash_risk_level", "rosh_level", "risk_score"
            )
        ),
        "cohort": text(record.get("cohort")),
        "subject_kind": text(record.get("subject_kind")),
    }


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested record to dotted columns for CSV; lists joined with ';', null as empty."""
    out: dict[str, str] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = ";".join(
                to_json(v) if isinstance(v, dict) else (text(v) or "") for v in value
            )
        else:
            out[name] = text(value) or ""
    return out

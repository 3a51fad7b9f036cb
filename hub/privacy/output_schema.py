"""Derive the recipient's Avro schema from a field plan.

Dropped fields are absent, tokenised fields become strings, generalised fields change
name and type. The schema a recipient sees is the exact contract of what it receives.
"""

from __future__ import annotations

import re
from typing import Any

from hub.catalogue.schemas import EventType, FieldInfo
from hub.policy.plan import FieldPlan, RecordPlan

_GENERALISED_TYPE: dict[str, Any] = {"year_of_birth": "int"}


def _namespace(recipient: str) -> str:
    return "uk.partnership.hub.share." + re.sub(r"[^a-zA-Z0-9]", "_", recipient)


def _nullable(t: Any) -> list[Any]:
    return ["null", t]


def _field(p: FieldPlan, clause_note: str) -> dict[str, Any]:
    info: FieldInfo = p.field
    doc = info.doc
    out: dict[str, Any] = {"name": p.out_name}
    if p.field.is_record:
        inner = (
            info.avro_type
            if not isinstance(info.avro_type, list)
            else next(t for t in info.avro_type if t != "null")
        )
        fields = [_field(c, clause_note) for c in p.children]
        if p.treatment == "token":
            fields.insert(
                0,
                {
                    "name": "token",
                    "type": ["null", "string"],
                    "default": None,
                    "doc": f"Pseudonym of this person in linkage domain '{p.domain}': a keyed "
                    "HMAC of the normalised identity. Same person, same token; reveals nothing.",
                    "hub.tags": ["pseudonym"],
                },
            )
        record = {
            "type": "record",
            "name": inner["name"],
            "doc": inner.get("doc", ""),
            "fields": fields,
        }
        out["type"] = _nullable(record) if info.nullable else record
        if info.nullable:
            out["default"] = None
    elif p.treatment in ("keep", "redact"):
        out["type"] = info.avro_type
        if "default" in _raw_default(info):
            out["default"] = None
        if p.treatment == "redact":
            doc += " Free text redacted: identifying values removed."
    elif p.treatment == "token":
        out["type"] = ["null", "string"]
        out["default"] = None
        doc = f"Pseudonym (linkage domain '{p.domain}') of: {doc}"
    else:  # generalise
        out["type"] = ["null", _GENERALISED_TYPE.get(p.generalise_to or "", "string")]
        out["default"] = None
        doc = f"Generalised ({p.generalise_to}) from '{info.name}': {doc}"
    out["doc"] = f"{doc} [clause '{p.clause_id}' of {clause_note}]"
    out["hub.tags"] = sorted(info.tags) if p.treatment == "keep" else []
    return out


def _raw_default(info: FieldInfo) -> dict[str, Any]:
    return {"default": None} if info.nullable else {}


def derive_output_schema(plan: RecordPlan, event_type: EventType, recipient: str) -> dict[str, Any]:
    return {
        "type": "record",
        "name": event_type.name,
        "namespace": _namespace(recipient),
        "doc": f"{event_type.name} as shared with {recipient} under {plan.agreement_ref}. "
        f"{event_type.schema.get('doc', '')}",
        "hub.event_type": event_type.slug,
        "hub.agreement": plan.agreement_ref,
        "fields": [_field(p, plan.agreement_ref) for p in plan.fields],
    }

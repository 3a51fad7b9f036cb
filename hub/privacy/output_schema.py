"""Derive the recipient's Avro schema from a field plan.

Dropped fields are absent, tokenised fields become strings, generalised fields change
name and type. The schema a recipient sees is the exact contract of what it receives.

Avro defines each named type once and refers to it by full name afterwards. The input
event may define a type where the output no longer has it (the defining field dropped), so
named types are re-emitted at their first use in the *output*. Enums and fixed types keep
their original full names (they are unchanged); records are rebuilt (fields removed, a
token added), so they get the recipient's namespace, and a second, differently-shaped use
of the same record type gets a name suffixed with its path.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from hub.catalogue.expand import NAMED, PRIMITIVES, collect_named, full_name
from hub.catalogue.schemas import EventType, FieldInfo
from hub.policy.plan import FieldPlan, RecordPlan

_GENERALISED_TYPE: dict[str, Any] = {"year_of_birth": "int"}


def _namespace(recipient: str) -> str:
    return "uk.partnership.hub.share." + re.sub(r"[^a-zA-Z0-9]", "_", recipient)


def _ns_of(full: str) -> str | None:
    return full.rsplit(".", 1)[0] if "." in full else None


class _Builder:
    def __init__(self, event_type: EventType, recipient: str, note: str) -> None:
        self._named: dict[str, dict[str, Any]] = {}
        collect_named(event_type.schema, None, self._named)
        self._ns = _namespace(recipient)
        self._note = note
        self._defined: set[str] = set()
        self._records: dict[str, str] = {}  # full name -> canonical JSON of its fields

    # -- types copied unchanged from the input ----------------------------------------

    def copy_type(self, avro_type: Any, ns: str | None) -> Any:
        """``avro_type`` with every named type defined at first use, full names elsewhere."""
        if isinstance(avro_type, str):
            if avro_type in PRIMITIVES:
                return avro_type
            full = avro_type if "." in avro_type else (f"{ns}.{avro_type}" if ns else avro_type)
            if full in self._defined:
                return full
            return self.copy_type(copy.deepcopy(self._named[full]), _ns_of(full))
        if isinstance(avro_type, list):
            return [self.copy_type(t, ns) for t in avro_type]
        node = dict(avro_type)
        kind = node.get("type")
        if kind in NAMED:
            full = full_name(node, ns)
            if full in self._defined:
                return full
            self._defined.add(full)
            node["name"], node["namespace"] = full.rsplit(".", 1)[-1], _ns_of(full)
            node["fields"] = [
                {**f, "type": self.copy_type(f["type"], _ns_of(full))}
                for f in node.get("fields", [])
            ]
            if kind != "record":
                node.pop("fields")
            return node
        if kind == "array":
            node["items"] = self.copy_type(node["items"], ns)
        elif kind == "map":
            node["values"] = self.copy_type(node["values"], ns)
        elif isinstance(kind, str) and kind not in PRIMITIVES:
            return self.copy_type(kind, ns)
        return node

    # -- the recipient's fields -------------------------------------------------------

    def record_type(self, p: FieldPlan, inner: dict[str, Any], path: str) -> Any:
        fields = [self.field(c, f"{path}.{c.out_name}") for c in p.children]
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
        shape = json.dumps(fields, sort_keys=True)
        name = inner["name"].rsplit(".", 1)[-1]
        full = f"{self._ns}.{name}"
        if full in self._records and self._records[full] == shape:
            return full  # the same shape again: refer to it
        if full in self._records:
            name = f"{name}_{re.sub(r'[^a-zA-Z0-9]', '_', path)}"
            full = f"{self._ns}.{name}"
        self._records[full] = shape
        self._defined.add(full)
        return {
            "type": "record",
            "name": name,
            "namespace": self._ns,
            "doc": inner.get("doc", ""),
            "fields": fields,
        }

    def field(self, p: FieldPlan, path: str) -> dict[str, Any]:
        info: FieldInfo = p.field
        doc = info.doc
        out: dict[str, Any] = {"name": p.out_name}
        if info.is_record:
            branches = info.avro_type if isinstance(info.avro_type, list) else [info.avro_type]
            inner = next(b for b in branches if b != "null")
            if isinstance(inner, str):  # a later use of a named record: its definition
                full = inner if "." in inner else f"{info.namespace}.{inner}"
                inner = self._named[full]
            record = self.record_type(p, inner, path)
            out["type"] = ["null", record] if info.nullable else record
        elif p.treatment in ("keep", "redact"):
            out["type"] = self.copy_type(info.avro_type, info.namespace)
            if p.treatment == "redact":
                doc += " Free text redacted: identifying values removed."
        elif p.treatment == "token":
            out["type"] = ["null", "string"]
            doc = f"Pseudonym (linkage domain '{p.domain}') of: {doc}"
        else:  # generalise
            out["type"] = ["null", _GENERALISED_TYPE.get(p.generalise_to or "", "string")]
            doc = f"Generalised ({p.generalise_to}) from '{info.name}': {doc}"
        if isinstance(out["type"], list) and out["type"][0] == "null":
            out["default"] = None
        out["doc"] = f"{doc} [clause '{p.clause_id}' of {self._note}]"
        out["hub.tags"] = sorted(info.tags) if p.treatment == "keep" else []
        return out


def derive_output_schema(plan: RecordPlan, event_type: EventType, recipient: str) -> dict[str, Any]:
    builder = _Builder(event_type, recipient, plan.agreement_ref)
    return {
        "type": "record",
        "name": event_type.name,
        "namespace": _namespace(recipient),
        "doc": f"{event_type.name} as shared with {recipient} under {plan.agreement_ref}. "
        f"{event_type.schema.get('doc', '')}",
        "hub.event_type": event_type.slug,
        "hub.agreement": plan.agreement_ref,
        "fields": [builder.field(p, p.out_name) for p in plan.fields],
    }

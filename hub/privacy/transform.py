"""Apply a field plan to one decoded event: the recipient's record and nothing more.

Only fields in the plan are copied; everything else is absent. The walk is driven by the
plan, never by the input, so an unexpected input field can never leak into the output.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from hub.catalogue.schemas import EventType
from hub.errors import HubError, Terminal
from hub.policy.facts import event_time
from hub.policy.plan import FieldPlan, RecordPlan
from hub.privacy.generalise import generalise
from hub.privacy.keys import KeyProvider
from hub.privacy.normalise import normalise_value
from hub.privacy.redact import redact
from hub.privacy.token import make_token


class TransformError(HubError, Terminal):
    """A treatment could not be applied; the disclosure is withheld, never sent raw."""


def _identifiers(record: Mapping[str, Any], event_type: EventType) -> list[str]:
    """String values of personal-data fields, for redacting free text."""
    out: list[str] = []
    for f in event_type.walk():
        if f.is_record or not ({"pii.direct", "pii.quasi"} & f.tags):
            continue
        value: Any = record
        for part in f.path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, str):
            out.append(value)
            out.extend(w for w in value.split() if len(w) >= 3)
    return out


class Transformer:
    def __init__(self, keys: KeyProvider) -> None:
        self._keys = keys

    def apply(
        self, plan: RecordPlan, record: Mapping[str, Any], event_type: EventType
    ) -> dict[str, Any]:
        when = event_time(record, event_type)
        ctx = _Ctx(record, event_type, when.date() if when else date.today())
        return self._record(plan.fields, record, ctx)

    def _record(
        self, plans: tuple[FieldPlan, ...], record: Mapping[str, Any], ctx: _Ctx
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in plans:
            value = record.get(p.field.name)
            try:
                if p.field.is_record:
                    if value is None:
                        out[p.out_name] = None
                        continue
                    sub = self._record(p.children, value, ctx)
                    if p.treatment == "token":
                        sub = {"token": self._record_token(p, value), **sub}
                    out[p.out_name] = sub
                elif p.treatment == "keep":
                    out[p.out_name] = value
                elif p.treatment == "token":
                    out[p.out_name] = (
                        None
                        if value is None
                        else self._token(p, normalise_value(value, p.field.tags))
                    )
                elif p.treatment == "generalise":
                    out[p.out_name] = generalise(p.generalise_to or "", value, ctx.when)
                elif p.treatment == "redact":
                    out[p.out_name] = redact(value, ctx.identifiers())
                else:  # the plan compiler rejects unknown treatments; fail closed anyway
                    raise TransformError(f"unknown treatment '{p.treatment}' for {p.field.path}")
            except (ValueError, TypeError) as exc:
                raise TransformError(
                    f"cannot apply {p.treatment} to {p.field.path}: {exc}"
                ) from exc
        return out

    def _token(self, p: FieldPlan, normalised: str) -> str:
        return make_token(self._keys.current(p.domain or ""), normalised)

    def _record_token(self, p: FieldPlan, value: Mapping[str, Any]) -> str | None:
        """One token for a person, from the normalised fields tagged ``identity``."""
        parts = [
            normalise_value(value.get(c.name), c.tags)
            for c in p.field.children
            if "identity" in c.tags
        ]
        if not any(parts):
            return None
        return self._token(p, "|".join(parts))


class _Ctx:
    def __init__(self, record: Mapping[str, Any], event_type: EventType, when: date) -> None:
        self.record = record
        self.event_type = event_type
        self.when = when
        self._ids: list[str] | None = None

    def identifiers(self) -> list[str]:
        if self._ids is None:
            self._ids = _identifiers(self.record, self.event_type)
        return self._ids

"""Apply a field plan to one decoded event: the recipient's record and nothing more.

Only fields in the plan are copied; everything else is absent. The walk is driven by the
plan, never by the input, so an unexpected input field can never leak into the output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from hub.catalogue.schemas import EventType
from hub.errors import HubError, Terminal
from hub.policy.facts import event_time
from hub.policy.plan import FieldPlan, RecordPlan
from hub.privacy.generalise import generalise
from hub.privacy.keys import KeyProvider
from hub.privacy.normalise import normalise
from hub.privacy.redact import RedactionUnavailable, redact
from hub.privacy.subjects import SUBJECT_DOMAIN, person_fields, subject_tokens
from hub.privacy.token import PERSON, make_token, person_input


class TransformError(HubError, Terminal):
    """A treatment could not be applied; the disclosure is withheld, never sent raw."""


@dataclass(frozen=True)
class Transformed:
    """The recipient's record, and notes on values that could not be treated as asked
    (e.g. an NHS number failing its check digit, so no token). Notes never quote values."""

    record: dict[str, Any]
    notes: tuple[str, ...] = ()


def _identifiers(record: Mapping[str, Any], event_type: EventType) -> list[str]:
    """String values of personal-data fields, for redacting free text."""
    out: list[str] = []
    for f in event_type.walk():
        if f.is_record or not ({"pii.direct", "pii.quasi"} & f.tags):
            continue
        value: Any = record
        for part in f.path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        # Lists too: aliases are names, and narratives quote them.
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, date):  # a date of birth: the redactor writes it every way
                out.append(item.isoformat())
                continue
            if not isinstance(item, str):
                continue
            out.append(item)
            out.extend(w for w in item.split() if len(w) >= 3)
            # The canonical form as well: a narrative may quote '2011/0123456X' where the
            # field says '11/123456x'.
            canonical = normalise(item, f.tags)
            if canonical.kind in ("nhs-number", "pnc-id") and canonical.value:
                out.append(canonical.value)
    return out


class Transformer:
    def __init__(self, keys: KeyProvider) -> None:
        self._keys = keys

    def subjects(self, record: Mapping[str, Any], event_type: EventType) -> tuple[str, ...]:
        """Whom the event is about, in the hub-only audit domain (hub/privacy/subjects.py)."""
        return subject_tokens(record, event_type, self._keys.current(SUBJECT_DOMAIN))

    def apply(
        self, plan: RecordPlan, record: Mapping[str, Any], event_type: EventType
    ) -> dict[str, Any]:
        return self.apply_with_notes(plan, record, event_type).record

    def apply_with_notes(
        self, plan: RecordPlan, record: Mapping[str, Any], event_type: EventType
    ) -> Transformed:
        when = event_time(record, event_type)
        ctx = _Ctx(record, event_type, when.date() if when else date.today())
        out = self._record(plan.fields, record, ctx)
        return Transformed(out, tuple(ctx.notes))

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
                        sub = {"token": self._record_token(p, value, ctx), **sub}
                    out[p.out_name] = sub
                elif p.treatment == "keep":
                    out[p.out_name] = value
                elif p.treatment == "token":
                    out[p.out_name] = self._field_token(p, value, ctx)
                elif p.treatment == "generalise":
                    out[p.out_name] = generalise(p.generalise_to or "", value, ctx.when)
                elif p.treatment == "redact":
                    out[p.out_name] = redact(value, ctx.identifiers())
                else:  # the plan compiler rejects unknown treatments; fail closed anyway
                    raise TransformError(f"unknown treatment '{p.treatment}' for {p.field.path}")
            except (ValueError, TypeError, RedactionUnavailable) as exc:
                raise TransformError(
                    f"cannot apply {p.treatment} to {p.field.path}: {exc}"
                ) from exc
        return out

    def _field_token(self, p: FieldPlan, value: Any, ctx: _Ctx) -> str | None:
        """A value's token, normalised by its tags; None (with a note) if it is unusable:
        an invalid NHS number must not become a token of its own, a false identity."""
        norm = normalise(value, p.field.tags)
        if norm.value is None:
            if norm.reason:
                ctx.notes.append(f"{p.field.path}: not tokenised: {norm.reason}")
            return None
        return make_token(self._keys.current(p.domain or ""), norm.value, norm.kind)

    def _record_token(self, p: FieldPlan, value: Mapping[str, Any], ctx: _Ctx) -> str | None:
        """One token for a person, from the normalised fields tagged ``identity``; None
        when none of them has a usable value."""
        identity = person_fields(p.field)[0]
        parts = [normalise(value.get(c.name), c.tags) for c in identity]
        for c, norm in zip(identity, parts, strict=True):
            if norm.reason:
                ctx.notes.append(f"{c.path}: left out of the person token: {norm.reason}")
        text = person_input(parts)
        if text is None:
            return None
        return make_token(self._keys.current(p.domain or ""), text, PERSON)


class _Ctx:
    def __init__(self, record: Mapping[str, Any], event_type: EventType, when: date) -> None:
        self.record = record
        self.event_type = event_type
        self.when = when
        self.notes: list[str] = []
        self._ids: list[str] | None = None

    def identifiers(self) -> list[str]:
        if self._ids is None:
            self._ids = _identifiers(self.record, self.event_type)
        return self._ids

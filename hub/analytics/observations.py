"""What the linkage rules see of an event: no identity, only pseudonymous tokens.

Each person in an event (the subject, tag ``person``; a related person, tag
``related-person``) becomes one observation keyed by tokens in the hub-only ``analytics``
linkage domain, with the few field values the rules select on. Names, dates of birth and
identifiers never leave this module; the analytics state holds tokens and codes only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

from hub.analytics.rules import AlertRule
from hub.catalogue.schemas import EventType, FieldInfo
from hub.policy.facts import age_on, event_time, get_path
from hub.privacy.keys import PseudonymKey
from hub.privacy.subjects import person_tokens

ANALYTICS_DOMAIN = "analytics"
ROLES = ("person", "related-person")


@dataclass(frozen=True)
class Observation:
    event_id: str
    event_type: str
    partner: str
    occurred_ms: int
    role: str
    tokens: tuple[str, ...]  # analytics-domain tokens: how pieces about one person meet
    child: bool | None = None
    borough: str | None = None
    attrs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Audit-domain tokens, only so the audit can answer a subject access request.
    subjects: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """The event's identity: its id within its partner's events. Another partner reusing
        the id is another event, so it can neither merge into nor use up this one's alert."""
        return f"{self.partner}|{self.event_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "partner": self.partner,
            "occurred_ms": self.occurred_ms,
            "role": self.role,
            "tokens": list(self.tokens),
            "child": self.child,
            "borough": self.borough,
            "attrs": {k: list(v) for k, v in self.attrs.items()},
            "subjects": list(self.subjects),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Observation:
        return cls(
            event_id=data["event_id"],
            event_type=data["event_type"],
            partner=data["partner"],
            occurred_ms=int(data["occurred_ms"]),
            role=data["role"],
            tokens=tuple(data.get("tokens", ())),
            child=data.get("child"),
            borough=data.get("borough"),
            attrs={k: tuple(v) for k, v in data.get("attrs", {}).items()},
            subjects=tuple(data.get("subjects", ())),
        )


def _text(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(v for item in value for v in _text(item))
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, Enum):
        return (str(value.value),)
    return (str(value),)


def _is_child(
    event: Mapping[str, Any], person: FieldInfo, value: Mapping[str, Any], when: datetime
) -> bool | None:
    # For the subject, the publisher's subject_kind decides (it may know without a date of
    # birth); otherwise, and for a related person, the date of birth if known.
    if "person" in person.tags:
        kind = event.get("subject_kind")
        if kind in ("CHILD", "ADULT"):
            return bool(kind == "CHILD")
    for c in person.children:
        if "dob" in c.tags:
            dob = value.get(c.name)
            if isinstance(dob, date):
                return age_on(dob, when.date()) < 18
    return None


def _borough(event: Mapping[str, Any]) -> str | None:
    value = event.get("borough")
    return str(value) if isinstance(value, str) else None


def selected_paths(rules: Iterable[AlertRule], event_type: str) -> set[str]:
    """The field paths any rule selects on for ``event_type``: all the state keeps."""
    return {
        path
        for r in rules
        for s in r.all_selectors()
        if s.event_type == event_type
        for path in s.where
    }


def observe(
    event: Mapping[str, Any],
    event_type: EventType,
    partner: str,
    paths: Sequence[str],
    key: PseudonymKey,
    audit_key: PseudonymKey | None = None,
) -> list[Observation]:
    """One observation per tokenisable person of the event (none when nobody is known)."""
    when = event_time(event, event_type)
    if when is None:
        return []
    attrs = {p: _text(get_path(event, p)) for p in paths}
    out: list[Observation] = []
    for person in event_type.walk():
        if not person.is_record:
            continue
        role = next((r for r in ROLES if r in person.tags), None)
        if role is None:
            continue
        value = get_path(event, person.path)
        if not isinstance(value, Mapping):
            continue
        tokens = sorted(set(person_tokens(person, value, key)))
        if not tokens:
            continue
        subjects = tuple(sorted(set(person_tokens(person, value, audit_key)))) if audit_key else ()
        child = _is_child(event, person, value, when)
        out.append(
            Observation(
                event_id=event_type.event_id(event),
                event_type=event_type.slug,
                partner=partner,
                occurred_ms=int(when.timestamp() * 1000),
                role=role,
                tokens=tuple(tokens),
                child=child,
                borough=_borough(event),
                attrs=attrs,
                subjects=subjects,
            )
        )
    return out

"""Pure linkage logic: does a new observation complete a rule's picture about one subject?

No Kafka and no clock here. The state of one subject is a ``History``: the observations
about it (deduplicated by event id) and, per rule, the event ids already used by an alert,
so each event contributes to at most one alert per rule and an alert is raised once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.analytics.observations import Observation
from hub.analytics.rules import AlertRule, Step, selectors

# Fixed namespace: the same rule and events give the same alert id in every process.
_ALERT_NS = uuid.UUID("0b0f9e0e-52a4-4c0e-9a57-5d3f6f8a4c21")


def alert_id(rule_id: str, event_refs: Iterable[str]) -> str:
    """Deterministic from the rule and the contributing events: a restart or redelivery
    that finds the same picture finds the same alert, which is then not raised again."""
    return str(uuid.uuid5(_ALERT_NS, "|".join([rule_id, *sorted(set(event_refs))])))


@dataclass(frozen=True)
class Match:
    rule: AlertRule
    events: tuple[Observation, ...]  # sorted by time, then event id
    trigger: Observation

    @property
    def alert_id(self) -> str:
        return alert_id(self.rule.id, (o.ref for o in self.events))

    @property
    def partners(self) -> tuple[str, ...]:
        return tuple(sorted({o.partner for o in self.events}))

    @property
    def borough(self) -> str | None:
        latest = [o for o in self.events if o.borough]
        return max(latest, key=lambda o: o.occurred_ms).borough if latest else None

    @property
    def child(self) -> bool | None:
        kinds = {o.child for o in self.events if o.child is not None}
        return None if not kinds else True in kinds

    @property
    def subjects(self) -> tuple[str, ...]:
        return tuple(sorted({s for o in self.events for s in o.subjects}))


@dataclass
class History:
    # By partner, event id and role: ids are unique only within one partner's events.
    observations: dict[str, Observation] = field(default_factory=dict)
    used: dict[str, set[str]] = field(default_factory=dict)  # rule id -> event refs alerted

    @staticmethod
    def key(o: Observation) -> str:
        return f"{o.ref}|{o.role}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "observations": [o.to_dict() for o in self.observations.values()],
            "used": {r: sorted(ids) for r, ids in self.used.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> History:
        if not data:
            return cls()
        obs = [Observation.from_dict(o) for o in data.get("observations", ())]
        return cls(
            {cls.key(o): o for o in obs},
            {r: set(ids) for r, ids in data.get("used", {}).items()},
        )

    def merge(self, other: History) -> None:
        """Union with the history of another token of the same person (e.g. an NHS number
        token and a name-and-birth-date token)."""
        self.observations.update(other.observations)
        for r, ids in other.used.items():
            self.used.setdefault(r, set()).update(ids)

    def prune(self, horizon_ms: int) -> None:
        """Forget observations older than ``horizon_ms`` before the newest one."""
        if not self.observations:
            return
        newest = max(o.occurred_ms for o in self.observations.values())
        keep = {k: o for k, o in self.observations.items() if o.occurred_ms >= newest - horizon_ms}
        kept_ids = {o.ref for o in keep.values()}
        self.observations = keep
        self.used = {r: ids & kept_ids for r, ids in self.used.items() if ids & kept_ids}


def _matches(step: Step, o: Observation) -> bool:
    return any(s.matches(o.event_type, o.role, o.child, o.attrs) for s in selectors(step))


def _ended(rule: AlertRule, o: Observation, pool: Sequence[Observation], until: int) -> bool:
    """True when a later event of the same type ended this piece (e.g. left the cohort)."""
    return any(
        e.event_type == o.event_type
        and o.occurred_ms < e.occurred_ms <= until
        and any(_matches(s, e) for s in rule.ends)
        for e in pool
    )


def _complete(rule: AlertRule, chosen: Sequence[Observation]) -> bool:
    if len({o.ref for o in chosen}) < rule.needed:
        return False
    if len({o.partner for o in chosen}) < rule.min_agencies:
        return False
    return all(any(_matches(s, o) for o in chosen) for s in rule.steps)


def evaluate(rule: AlertRule, history: History, new: Observation) -> Match | None:
    """The alert ``new`` completes under ``rule``, given what is known about its subject.

    The window slides: every window of ``rule.window_days`` holding ``new`` is tried, from
    the earliest; the first complete one gives the alert, with every matching event in it.
    Events already used by an alert of this rule are not used again.
    """
    if not any(_matches(s, new) for s in rule.steps):
        return None
    used = history.used.get(rule.id, set())
    if new.ref in used:
        return None
    pool = [*history.observations.values(), new]
    width = rule.window_ms
    candidates = {
        o.ref: o
        for o in pool
        if abs(o.occurred_ms - new.occurred_ms) <= width
        and o.ref not in used
        and any(_matches(s, o) for s in rule.steps)
    }
    candidates[new.ref] = new
    ordered = sorted(candidates.values(), key=lambda o: (o.occurred_ms, o.ref))
    starts = sorted({o.occurred_ms for o in ordered if o.occurred_ms <= new.occurred_ms})
    for start in starts:
        if start < new.occurred_ms - width:
            continue
        end = start + width
        chosen = [
            o for o in ordered if start <= o.occurred_ms <= end and not _ended(rule, o, pool, end)
        ]
        if _complete(rule, chosen):
            return Match(rule, tuple(chosen), new)
    return None


def step(
    rules: Sequence[AlertRule], history: History, new: Observation, horizon_ms: int
) -> list[Match]:
    """Evaluate every rule for ``new``, then record it (and the alerts) in ``history``.

    A redelivered event (already in the history) raises nothing: the state, restored from
    its changelog after a restart, already holds it.
    """
    if History.key(new) in history.observations:
        return []
    matches = [m for r in rules if (m := evaluate(r, history, new)) is not None]
    history.observations[History.key(new)] = new
    for m in matches:
        history.used.setdefault(m.rule.id, set()).update(o.ref for o in m.events)
    history.prune(horizon_ms)
    return matches


def horizon(rules: Sequence[AlertRule]) -> int:
    """How far back the state must remember: the longest window (at least one day)."""
    return max([r.window_ms for r in rules] or [86_400_000])

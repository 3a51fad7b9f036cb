"""The analytics' state machine over plain mappings: what the faust agents call.

``Intake`` turns a verified, decoded partner event into internal messages (observations of
the people in it, and the VRP cell it counts in). ``Analytics.apply`` folds one message
into the state (mappings: faust tables in the app, dicts in tests) and returns the alerts
to raise. Both are free of Kafka, so the behaviour is tested without a broker.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.analytics.linkage import History, Match, horizon, step
from hub.analytics.observations import Observation, observe, selected_paths
from hub.analytics.rules import AlertRule
from hub.analytics.violence import SOURCE_TYPES, AreaLevel, Cell, cell_of
from hub.catalogue.schemas import EventType
from hub.privacy.keys import PseudonymKey


def read_types(rules: Sequence[AlertRule]) -> set[str]:
    """The event types the analytics read: the rules' and the VRP feed's."""
    return {t for r in rules for t in r.event_types()} | set(SOURCE_TYPES)


class Intake:
    def __init__(
        self,
        rules: Sequence[AlertRule],
        key: PseudonymKey,
        audit_key: PseudonymKey | None,
        area_level: AreaLevel = "district",
    ) -> None:
        self._rules = list(rules)
        self._key = key
        self._audit_key = audit_key
        self._area_level = area_level
        self._linked = {t for r in self._rules for t in r.event_types()}
        self._paths: dict[str, list[str]] = {}

    def event_types(self) -> set[str]:
        return read_types(self._rules)

    def messages(
        self, event: Mapping[str, Any], event_type: EventType, partner: str
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if event_type.slug in self._linked:
            if event_type.slug not in self._paths:
                self._paths[event_type.slug] = sorted(selected_paths(self._rules, event_type.slug))
            for o in observe(
                event, event_type, partner, self._paths[event_type.slug], self._key, self._audit_key
            ):
                out.append({"kind": "obs", "obs": o.to_dict()})
        cell = cell_of(event, event_type, self._area_level)
        if cell is not None:
            out.append(
                {
                    "kind": "cell",
                    "provider": partner,
                    "event_id": event_type.event_id(event),
                    "cell": cell.key(),
                }
            )
        return out


@dataclass
class Applied:
    matches: list[Match]
    counted: Cell | None = None
    duplicate: bool = False


class Analytics:
    """One message at a time, into four mappings (changelogged tables in the app):
    ``linkage`` token -> History, ``raised`` alert id -> rule, ``counts`` cell -> count,
    ``counted`` provider|event id -> cell (so a redelivered or updated event is counted once,
    and another partner's event with the same id is counted apart, issue 15)."""

    def __init__(self, rules: Sequence[AlertRule]) -> None:
        self.rules = list(rules)
        self._horizon = horizon(self.rules)

    def apply(
        self,
        msg: Mapping[str, Any],
        linkage: MutableMapping[str, Any],
        raised: MutableMapping[str, Any],
        counts: MutableMapping[str, Any],
        counted: MutableMapping[str, Any],
    ) -> Applied:
        if msg.get("kind") == "cell":
            return self._count(msg, counts, counted)
        obs = Observation.from_dict(msg["obs"])
        history = History()
        for token in obs.tokens:
            history.merge(History.from_dict(linkage.get(token)))
        duplicate = History.key(obs) in history.observations
        matches = step(self.rules, history, obs, self._horizon)
        fresh = [m for m in matches if m.alert_id not in raised]
        for m in fresh:
            raised[m.alert_id] = m.rule.ref
        # Every token of the person gets the merged picture: a later event known by only
        # one of them (e.g. the NHS number) still meets everything before.
        state = history.to_dict()
        for token in obs.tokens:
            linkage[token] = state
        return Applied(fresh, duplicate=duplicate)

    def _count(
        self,
        msg: Mapping[str, Any],
        counts: MutableMapping[str, Any],
        counted: MutableMapping[str, Any],
    ) -> Applied:
        event_id, key = str(msg["event_id"]), str(msg["cell"])
        # Keyed by provider and id: ids are the partner's, so two partners can send the same
        # one; an id alone made one partner's assault "correct" (move) another's count.
        ident = f"{msg['provider']}|{event_id}" if msg.get("provider") else event_id
        before = counted.get(ident)
        if before is None and ident != event_id:
            before = _legacy(counted, event_id, key, ident)
        if before == key:
            return Applied([], duplicate=True)
        if before is not None:  # a corrected event moves its count, never adds one
            counts[before] = max(0, int(counts.get(before) or 0) - 1)
        counts[key] = int(counts.get(key) or 0) + 1
        counted[ident] = key
        return Applied([], counted=Cell.from_key(key))


def _legacy(counted: MutableMapping[str, Any], event_id: str, key: str, ident: str) -> Any:
    """The cell a worker before provider keys counted this event in, if it is this event's.

    Those workers keyed ``counted`` by event id alone; their changelogs are restored as they
    are, and the partner topics are re-read on start. Each source has one kind of provider
    (emergency departments, police), so an entry of the same source is this event's: it is
    moved to the provider key, and the event is not counted a second time."""
    old = counted.get(event_id)
    if old is None or Cell.from_key(str(old)).source != Cell.from_key(key).source:
        return None
    counted[ident] = old
    del counted[event_id]
    return old


def week_counts(counts: Mapping[str, Any], week: str, source: str) -> dict[Cell, int]:
    out = {}
    for key, n in counts.items():
        c = Cell.from_key(str(key))
        if c.week == week and c.source == source and int(n) > 0:
            out[c] = int(n)
    return out

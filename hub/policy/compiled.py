"""Compiled stream plans: the engine's decision for one partner stream, worked out once.

``PolicyEngine.decide`` (hub/policy/engine.py) is the specification. For one stream
(provider, event type) under one set of governing rules, most of what it works out per
event is the same for every event: which recipients are candidates, which governing
agreements cover each, which of them are not in force or do not compile (and the reason
they give), each agreement's field plan. A ``StreamPlan`` holds that, so deciding an event
is: the condition verdicts (each a function of the fields its condition reads and the
derived facts, memoised by the engine on those values, evaluated once per agreement per
event), then per recipient the first agreement whose verdict holds.

A plan is valid while the engine's governing key is (day, signatures passed): what governs
changes only at midnight or at a signature, as in the engine. The property test
(tests/policy/test_compiled.py) checks this path against ``PolicyEngine.decide`` on
generated events for every reference agreement.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hub.agreements.models import Agreement
from hub.catalogue.schemas import EventType
from hub.policy.decision import Decision, Outcome
from hub.policy.engine import PolicyEngine, _Compiled, _Inputs
from hub.policy.plan import RecordPlan

_UNCOVERED = "no agreement covers this recipient"
_PLANS_KEPT = 4096
_VERDICTS_KEPT = 16384
_ABSENT = object()  # a field not in the event, which CEL's has() tells from a null


@dataclass(frozen=True)
class _Step:
    """One covering agreement of one recipient, as far as it is known without the event."""

    compiled: _Compiled
    agreement: Agreement
    before: str | None  # not in force, or condition does not compile: the reason
    plan: RecordPlan | str  # the field plan, or why it is invalid (once the condition holds)
    false_reason: str
    allowed: str  # the reason a shared decision gives
    # What the condition's verdict is a function of: the event fields it names (None: it
    # may read the whole event) and whether it reads the derived facts.
    reads: tuple[str, ...] | None = None
    reads_facts: bool = True


@dataclass(frozen=True)
class _Route:
    recipient: str
    steps: tuple[_Step, ...]
    considered: Agreement | None
    static: str | None  # every step fails without looking at the event: the joined reason


class StreamPlan:
    """One partner stream under one set of governing rules (see the module docstring)."""

    def __init__(
        self,
        engine: PolicyEngine,
        provider: str,
        event_type: EventType,
        now: datetime,
    ) -> None:
        self.provider = provider
        self.event_type = event_type
        routes = engine._routes(provider, event_type.slug, now)
        self.key: tuple[date, int] | None = engine._governing_key
        self._engine = engine
        self._memo: dict[tuple[Any, ...], bool | str] = {}
        self._routes = tuple(self._route(r, covering, now) for r, covering in routes)

    def _route(self, recipient: str, covering: list[_Compiled], now: datetime) -> _Route:
        engine = self._engine
        steps = []
        for c in covering:
            a = c.agreement
            before = engine._why_not(a, now) or None
            if before is None and c.condition_error:
                before = f"condition of {a.ref} does not compile: {c.condition_error}"
            plan = engine.plan(a, self.event_type)
            if isinstance(plan, str):
                plan = f"field plan of {a.ref} is invalid: {plan}"
            fields = c.condition.event_fields if c.condition is not None else None
            steps.append(
                _Step(
                    c,
                    a,
                    before,
                    plan,
                    f"condition of {a.ref} is false: {a.condition}",
                    f"allowed by {a.ref}",
                    None if fields is None else tuple(sorted(fields)),
                    c.condition is None or "facts" in c.condition.source,
                )
            )
        static = None
        if all(s.before is not None for s in steps):
            static = "; ".join(s.before or "" for s in steps) or _UNCOVERED
        considered = steps[0].agreement if steps else None
        return _Route(recipient, tuple(steps), considered, static)

    def _verdict(self, s: _Step, event: Mapping[str, Any], inputs: list[_Inputs]) -> bool | str:
        """The condition's verdict, memoised on exactly what it reads: its own fields (absent
        and null told apart) and, if it names them, the facts. The engine's memo is keyed on
        every field any condition of the stream reads, so one condition reading a field of
        many values (an age) made every other condition miss too."""
        key: tuple[Any, ...] | None = None
        if s.reads is not None:
            if not inputs and s.reads_facts:
                inputs.append(self._engine._inputs(event, self.event_type, self.provider))
            facts = tuple(inputs[0].facts.items()) if s.reads_facts else ()
            key = (id(s.compiled), tuple(event.get(f, _ABSENT) for f in s.reads), facts)
            try:
                hit = self._memo.get(key)
            except TypeError:  # a record or list value: evaluate, do not memoise
                hit, key = None, None
            if hit is not None:
                return hit
        if not inputs:
            inputs.append(self._engine._inputs(event, self.event_type, self.provider))
        verdict = self._engine._verdict(s.compiled, inputs[0])
        if key is not None:
            if len(self._memo) >= _VERDICTS_KEPT:
                self._memo.clear()  # bounded: memory stays flat over any run
            self._memo[key] = verdict
        return verdict

    def decide(self, event: Mapping[str, Any]) -> list[Decision]:
        """What ``PolicyEngine.decide(event, event_type, provider, now)`` returns."""
        event_type, provider = self.event_type, self.provider
        event_id = event_type.event_id(event)
        inputs: list[_Inputs] = []  # built once an event, and only if a verdict is not known
        held: dict[int, bool | str] = {}  # one verdict per agreement per event
        decisions = []
        for route in self._routes:
            shared: Decision | None = None
            reasons: list[str] = []
            if route.static is None:
                for s in route.steps:
                    if s.before is not None:
                        reasons.append(s.before)
                        continue
                    c = s.compiled
                    if c.condition is not None:
                        verdict = held.get(id(c))
                        if verdict is None:
                            verdict = held[id(c)] = self._verdict(s, event, inputs)
                        if verdict is False:
                            reasons.append(s.false_reason)
                            continue
                        if verdict is not True:
                            reasons.append(
                                f"condition of {s.agreement.ref} could not be evaluated: {verdict}"
                            )
                            continue
                    if isinstance(s.plan, str):
                        reasons.append(s.plan)
                        continue
                    shared = Decision(
                        event_id=event_id,
                        event_type=event_type.slug,
                        provider=provider,
                        recipient=route.recipient,
                        outcome=Outcome.SHARED,
                        reason=s.allowed,
                        agreement_id=s.agreement.id,
                        agreement_version=s.agreement.version,
                        plan=s.plan,
                    )
                    break
            if shared is not None:
                decisions.append(shared)
                continue
            considered = route.considered
            decisions.append(
                Decision(
                    event_id=event_id,
                    event_type=event_type.slug,
                    provider=provider,
                    recipient=route.recipient,
                    outcome=Outcome.WITHHELD,
                    reason=route.static or "; ".join(reasons) or _UNCOVERED,
                    agreement_id=considered.id if considered else None,
                    agreement_version=considered.version if considered else None,
                )
            )
        return decisions


class CompiledStreams:
    """The stream plans of one engine, recompiled when what governs changes."""

    def __init__(self, engine: PolicyEngine) -> None:
        self._engine = engine
        self._plans: dict[tuple[str, str, int, tuple[date, int] | None], StreamPlan] = {}

    def stream(self, provider: str, event_type: EventType, now: datetime) -> StreamPlan:
        self._engine._governing(now)  # refreshes the governing key when the day has turned
        # By the event type object too: two writer schemas of one stream may each bring
        # their own (a plan holds its event type, so the id cannot be reused meanwhile).
        key = (provider, event_type.slug, id(event_type), self._engine._governing_key)
        plan = self._plans.get(key)
        if plan is None:
            # Kept per governing key, not only the latest: a what-if or a replay decides
            # events of many days, interleaved, and must not recompile at every turn.
            if len(self._plans) >= _PLANS_KEPT:
                self._plans.clear()  # bounded: memory stays flat over any run
            plan = self._plans[key] = StreamPlan(self._engine, provider, event_type, now)
        return plan

    def decide(
        self, event: Mapping[str, Any], event_type: EventType, provider: str, now: datetime
    ) -> list[Decision]:
        return self.stream(provider, event_type, now).decide(event)


_BY_ENGINE: weakref.WeakKeyDictionary[PolicyEngine, CompiledStreams] = weakref.WeakKeyDictionary()


def streams(engine: PolicyEngine) -> CompiledStreams:
    """The compiled streams of ``engine`` (one set per engine: a reload brings a new one)."""
    found = _BY_ENGINE.get(engine)
    if found is None:
        found = _BY_ENGINE[engine] = CompiledStreams(engine)
    return found


def decide(
    engine: PolicyEngine,
    event: Mapping[str, Any],
    event_type: EventType,
    provider: str,
    now: datetime,
) -> list[Decision]:
    """``engine.decide`` through the stream's compiled plan: the same decisions."""
    return streams(engine).decide(event, event_type, provider, now)

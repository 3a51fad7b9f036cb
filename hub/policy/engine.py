"""The decision engine: (event, agreements, now) -> one decision per candidate recipient.

Pure: no Kafka, no database, no clock (``now`` is an argument). Default deny: a recipient
gets an event only when an approved agreement in force covers the provider, the event
type and the recipient, its condition holds, and its field plan compiles. Anything that
goes wrong while deciding withholds, with the reason.

Which version of an agreement governs is ``hub.agreements.lifecycle``'s rule, the one the
console, ``hub agreements list`` and lint use too; ``governing`` and ``check`` are public
so the analytics' alert decisions go through the same code as partner events.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import cel

from hub.agreements import lifecycle
from hub.agreements.models import Agreement
from hub.catalogue.schemas import EventType
from hub.policy.conditions import Condition, ConditionError, compile_condition
from hub.policy.decision import Decision, Outcome
from hub.policy.facts import derive_facts, to_cel
from hub.policy.plan import PlanError, RecordPlan, compile_plan

_VERDICT_MEMO = 65536


@dataclass
class _Inputs:
    view: Mapping[str, Any]
    facts: dict[str, Any]
    memo: tuple[Any, ...] | None  # hashable form of view and facts, None if not hashable
    context: Any = None  # the cel.Context, built on first need


@dataclass(frozen=True)
class _Compiled:
    agreement: Agreement
    condition: Condition | None
    condition_error: str | None


class PolicyEngine:
    """Holds agreements compiled once; ``decide`` is then cheap and deterministic."""

    def __init__(self, agreements: Sequence[Agreement]) -> None:
        # Sorted so the same inputs always give the same decisions, whatever the file order;
        # newest version of each agreement first, so a new version in force takes over.
        self._agreements = sorted(agreements, key=lambda a: (a.id, -a.version))
        self._compiled: list[_Compiled] = []
        for a in self._agreements:
            try:
                self._compiled.append(_Compiled(a, compile_condition(a.condition), None))
            except ConditionError as exc:
                self._compiled.append(_Compiled(a, None, str(exc)))
        self._plans: dict[tuple[str, int, str], RecordPlan | str] = {}
        # What governs changes only at midnight or at the moment of a last signature: the
        # choice is cached under (day, signatures passed), not recomputed per event.
        self._signatures = sorted(t for a in self._agreements if (t := a.signed_at()) is not None)
        self._governing_key: tuple[date, int] | None = None
        self._candidates: dict[tuple[str, str], list[str]] = {}
        self._governing_cache: list[_Compiled] = []
        self._governing_ids: dict[str, Agreement | None] = {}
        self._in_force: dict[tuple[str, int], tuple[date, str | None]] = {}
        self._condition_fields: dict[tuple[str, str], frozenset[str] | None] = {}
        self._verdicts: dict[tuple[int, tuple[Any, ...]], bool | str] = {}
        self._routes_cache: dict[
            tuple[str, str], tuple[tuple[date, int] | None, list[tuple[str, list[_Compiled]]]]
        ] = {}

    @property
    def agreements(self) -> list[Agreement]:
        return list(self._agreements)

    def _governing(self, now: datetime) -> list[_Compiled]:
        """The version each agreement's decisions name at ``now`` (lifecycle.considered)."""
        key = (now.date(), bisect.bisect_right(self._signatures, now))
        if self._governing_key != key:
            self._governing_cache, self._governing_ids = self._compute_governing(now)
            self._governing_key = key
        return self._governing_cache

    def _compute_governing(
        self, now: datetime
    ) -> tuple[list[_Compiled], dict[str, Agreement | None]]:
        by_id: dict[str, list[_Compiled]] = {}
        for c in self._compiled:  # newest version of each id first
            by_id.setdefault(c.agreement.id, []).append(c)
        chosen, ids = [], {}
        for agreement_id, versions in by_id.items():
            agreements = [c.agreement for c in versions]
            ids[agreement_id] = lifecycle.pick(agreements, now)
            named = lifecycle.considered(agreements, now)
            chosen += [c for c in versions if c.agreement is named]
        return chosen, ids

    def governing(self, agreement_id: str, now: datetime) -> Agreement | None:
        """The version of ``agreement_id`` that governs at ``now`` (None: none does), by
        ``hub.agreements.lifecycle``'s rule."""
        self._governing(now)
        return self._governing_ids.get(agreement_id)

    def considered(self, agreement_id: str, now: datetime) -> Agreement | None:
        """The version a decision about ``agreement_id`` names at ``now``: the governing one,
        else the newest non-draft (whose state says why nothing shares); None if unknown."""
        return next(
            (c.agreement for c in self._governing(now) if c.agreement.id == agreement_id), None
        )

    def candidates(self, provider: str, event_type: str) -> list[str]:
        """Recipients named by any agreement (in any state) for this provider and event type."""
        key = (provider, event_type)
        if key not in self._candidates:
            out = {
                r
                for a in self._agreements
                if provider in a.providers and event_type in a.event_types
                for r in a.recipients
            }
            self._candidates[key] = sorted(out)
        return self._candidates[key]

    def _why_not(self, a: Agreement, now: datetime) -> str | None:
        """``a.not_in_force_reason(now)``, computed once a day per agreement version: it
        only changes at midnight, or at the moment of a signature given today."""
        key = (a.id, a.version)
        day = now.date()
        hit = self._in_force.get(key)
        if hit is not None and hit[0] == day:
            return hit[1]
        reason = a.not_in_force_reason(now)
        signed = a.signed_at()
        if signed is None or signed.date() < day:
            self._in_force[key] = (day, reason)
        return reason

    def _inputs(self, event: Mapping[str, Any], event_type: EventType, provider: str) -> _Inputs:
        """What the conditions of this stream read from the event: only the fields they
        name (see ``referenced_fields``) and the derived facts."""
        key = (provider, event_type.slug)
        if key not in self._condition_fields:
            self._condition_fields[key] = self._fields_read(provider, event_type.slug)
        wanted = self._condition_fields[key]
        view = event if wanted is None else {k: event[k] for k in wanted if k in event}
        facts = derive_facts(event, event_type)
        memo: tuple[Any, ...] | None = None
        if wanted is not None:
            memo = (tuple(view.items()), tuple(facts.items()))
            try:
                hash(memo)
            except TypeError:  # a record or list field: evaluate, do not memoise
                memo = None
        return _Inputs(view, facts, memo)

    def _verdict(self, c: _Compiled, inputs: _Inputs) -> bool | str:
        """The condition's result on these inputs (True, False, or why it failed).

        A condition is a pure function of the fields it reads and the facts, and those
        take few distinct values (risk level, category, age...): results are memoised on
        them, so building a CEL context, the larger cost, is mostly skipped.
        """
        assert c.condition is not None
        key = None if inputs.memo is None else (id(c), inputs.memo)
        if key is not None:
            hit = self._verdicts.get(key)
            if hit is not None:
                return hit
        if inputs.context is None:
            inputs.context = cel.Context()
            inputs.context.update({"event": to_cel(inputs.view), "facts": inputs.facts})
        try:
            verdict: bool | str = c.condition.holds(inputs.context)
        except ConditionError as exc:
            verdict = str(exc)
        if key is not None:
            if len(self._verdicts) >= _VERDICT_MEMO:
                self._verdicts.clear()  # bounded: memory stays flat over any run
            self._verdicts[key] = verdict
        return verdict

    def _fields_read(self, provider: str, event_type: str) -> frozenset[str] | None:
        fields: set[str] = set()
        for c in self._compiled:
            a = c.agreement
            if c.condition is None or provider not in a.providers:
                continue
            if event_type not in a.event_types:
                continue
            if c.condition.event_fields is None:
                return None
            fields |= c.condition.event_fields
        return frozenset(fields)

    def plan(self, agreement: Agreement, event_type: EventType) -> RecordPlan | str:
        key = (agreement.id, agreement.version, event_type.slug)
        if key not in self._plans:
            try:
                self._plans[key] = compile_plan(agreement, event_type)
            except PlanError as exc:
                self._plans[key] = str(exc)
        return self._plans[key]

    def _routes(
        self, provider: str, event_type: str, now: datetime
    ) -> list[tuple[str, list[_Compiled]]]:
        """Each candidate recipient with the governing agreements that cover it for this
        provider and event type, in decision order: worked out once a day per stream, so
        deciding an event does not scan every agreement for every recipient."""
        governing = self._governing(now)  # refreshes the key first
        key = (provider, event_type)
        hit = self._routes_cache.get(key)
        if hit is not None and hit[0] == self._governing_key:
            return hit[1]
        routes = [
            (
                recipient,
                [
                    c
                    for c in governing
                    if recipient in c.agreement.recipients
                    and provider in c.agreement.providers
                    and event_type in c.agreement.event_types
                ],
            )
            for recipient in self.candidates(provider, event_type)
        ]
        self._routes_cache[key] = (self._governing_key, routes)
        return routes

    def check(
        self,
        agreement: Agreement,
        recipient: str,
        event: Mapping[str, Any],
        event_type: EventType,
        provider: str,
        now: datetime,
    ) -> RecordPlan | str:
        """Whether ``agreement`` lets ``provider`` share ``event`` with ``recipient`` at
        ``now``: its field plan when it does, else why not. The body of ``decide``'s loop:
        coverage, in force, condition, field plan. It does not choose the version: pass the
        one ``governing`` (or ``considered``) returns."""
        if (
            provider not in agreement.providers
            or recipient not in agreement.recipients
            or event_type.slug not in agreement.event_types
        ):
            return (
                f"{agreement.ref} does not cover {event_type.slug} from {provider} for {recipient}"
            )
        c = next((c for c in self._compiled if c.agreement == agreement), None)
        if c is None:  # a version this engine was not built with: compiled on the spot
            try:
                c = _Compiled(agreement, compile_condition(agreement.condition), None)
            except ConditionError as exc:
                c = _Compiled(agreement, None, str(exc))
        return self._check(
            c, lambda: self._inputs(event, event_type, provider), {}, event_type, now
        )

    def _check(
        self,
        c: _Compiled,
        inputs: Callable[[], _Inputs],
        held: dict[int, bool | str],
        event_type: EventType,
        now: datetime,
    ) -> RecordPlan | str:
        a = c.agreement
        why_not = self._why_not(a, now)
        if why_not:
            return why_not
        if c.condition_error:
            return f"condition of {a.ref} does not compile: {c.condition_error}"
        if c.condition is not None:
            verdict = held.get(id(c))
            if verdict is None:
                verdict = held[id(c)] = self._verdict(c, inputs())
            if verdict is False:
                return f"condition of {a.ref} is false: {a.condition}"
            if verdict is not True:
                return f"condition of {a.ref} could not be evaluated: {verdict}"
        plan = self.plan(a, event_type)
        if isinstance(plan, str):
            return f"field plan of {a.ref} is invalid: {plan}"
        return plan

    def decide(
        self,
        event: Mapping[str, Any],
        event_type: EventType,
        provider: str,
        now: datetime,
    ) -> list[Decision]:
        event_id = event_type.event_id(event)
        memo: list[_Inputs] = []

        def inputs() -> _Inputs:  # built once an event, and only if a condition needs them
            if not memo:
                memo.append(self._inputs(event, event_type, provider))
            return memo[0]

        # One agreement may cover several recipients: its condition is evaluated once.
        held: dict[int, bool | str] = {}
        decisions = []
        for recipient, covering in self._routes(provider, event_type.slug, now):
            reasons: list[str] = []
            considered: Agreement | None = None
            shared: Decision | None = None
            for c in covering:
                a = c.agreement
                considered = considered or a
                result = self._check(c, inputs, held, event_type, now)
                if isinstance(result, str):
                    reasons.append(result)
                    continue
                shared = Decision(
                    event_id=event_id,
                    event_type=event_type.slug,
                    provider=provider,
                    recipient=recipient,
                    outcome=Outcome.SHARED,
                    reason=f"allowed by {a.ref}",
                    agreement_id=a.id,
                    agreement_version=a.version,
                    plan=result,
                )
                break
            if shared is None:
                decisions.append(
                    Decision(
                        event_id=event_id,
                        event_type=event_type.slug,
                        provider=provider,
                        recipient=recipient,
                        outcome=Outcome.WITHHELD,
                        reason="; ".join(reasons) or "no agreement covers this recipient",
                        agreement_id=considered.id if considered else None,
                        agreement_version=considered.version if considered else None,
                    )
                )
            else:
                decisions.append(shared)
        return decisions

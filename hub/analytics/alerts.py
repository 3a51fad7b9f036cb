"""From a rule match to governed, audited alert disclosures.

An alert is an event of the catalogue type ``linkage-alert`` built from the match (rule and
contributing event ids; never an identity). For each recipient the rule names, the
agreement it names decides, exactly as the engine decides partner events: the governing
version must be in force, cover the recipient and the type, name every contributing
partner as a controller, its condition must hold and its field plan compile. Every
decision, shared or withheld, becomes an audit record like the processor's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.agreements.models import Agreement, Status
from hub.analytics.linkage import Match
from hub.audit.records import AuditRecord
from hub.catalogue.schemas import EventType
from hub.policy.conditions import Condition, ConditionError, compile_condition
from hub.policy.decision import Decision, Outcome
from hub.policy.engine import PolicyEngine
from hub.policy.facts import derive_facts, to_cel
from hub.policy.plan import RecordPlan
from hub.processor.audit import audit_record as shared_audit_record

ALERT_TYPE = "linkage-alert"
HUB_PROVIDER = "hub-analytics"  # who discloses an alert in the audit: the hub itself
BOROUGHS = frozenset({"LIVERPOOL", "KNOWSLEY", "SEFTON", "ST_HELENS", "WIRRAL"})


def alert_record(match: Match, now: datetime) -> dict[str, Any]:
    """The alert as a ``linkage-alert`` event (catalogue schema)."""
    rule = match.rule
    child = match.child
    borough = match.borough
    return {
        "envelope": {
            "event_id": match.alert_id,
            "event_type": ALERT_TYPE,
            "source_partner": "hub",
            "occurred_at": datetime.fromtimestamp(
                max(o.occurred_ms for o in match.events) / 1000, UTC
            ),
            "recorded_at": now,
            "schema_version": 1,
            "correlation_id": None,
            "classification": "OFFICIAL_SENSITIVE",
        },
        "rule": {"name": rule.id, "version": rule.version},
        "window_days": rule.window_days,
        "subject_kind": "UNKNOWN" if child is None else ("CHILD" if child else "ADULT"),
        "borough": borough if borough in BOROUGHS else "OUT_OF_AREA",
        "contributing": [
            {
                "event_id": o.event_id,
                "event_type": o.event_type,
                "partner_id": o.partner,
                "occurred_at": datetime.fromtimestamp(o.occurred_ms / 1000, UTC),
            }
            for o in sorted(
                {o.event_id: o for o in match.events}.values(),
                key=lambda o: (o.occurred_ms, o.event_id),
            )
        ],
    }


def governing(
    agreements: Sequence[Agreement], agreement_id: str, now: datetime
) -> Agreement | None:
    """The version of ``agreement_id`` that governs at ``now`` (as the engine chooses it):
    the newest non-draft version that has taken effect, else the newest (to name why not)."""
    versions = sorted((a for a in agreements if a.id == agreement_id), key=lambda a: -a.version)
    effective = [
        a for a in versions if a.status is not Status.DRAFT and a.effective_from <= now.date()
    ]
    return effective[0] if effective else (versions[0] if versions else None)


@dataclass(frozen=True)
class AlertDecision:
    decision: Decision
    agreement: Agreement | None


class AlertGovernor:
    def __init__(self, agreements: Sequence[Agreement], event_type: EventType) -> None:
        self._agreements = list(agreements)
        self.event_type = event_type
        # Plans compiled once per agreement version (the engine's cache), not per alert.
        self._plans = PolicyEngine(self._agreements)
        self._conditions: dict[tuple[str, int], Condition | None] = {}

    def _plan(self, a: Agreement) -> RecordPlan | str:
        return self._plans.plan(a, self.event_type)

    def _condition(self, a: Agreement) -> Condition | None:
        key = (a.id, a.version)
        if key not in self._conditions:
            self._conditions[key] = compile_condition(a.condition)
        return self._conditions[key]

    def decide(self, match: Match, record: dict[str, Any], now: datetime) -> list[AlertDecision]:
        out = []
        for n in match.rule.notify:
            a = governing(self._agreements, n.agreement, now)
            reason = self._why_not(a, n.recipient, match, record, now)
            shared = reason is None and a is not None
            compiled = self._plan(a) if shared and a is not None else None
            plan = compiled if isinstance(compiled, RecordPlan) else None
            out.append(
                AlertDecision(
                    Decision(
                        event_id=match.alert_id,
                        event_type=ALERT_TYPE,
                        provider=HUB_PROVIDER,
                        recipient=n.recipient,
                        outcome=Outcome.SHARED if shared else Outcome.WITHHELD,
                        reason=(
                            f"rule {match.rule.ref} alert allowed by {a.ref}"
                            if shared and a is not None
                            else f"rule {match.rule.ref}: {reason}"
                        ),
                        agreement_id=a.id if a else None,
                        agreement_version=a.version if a else None,
                        plan=plan,
                    ),
                    a,
                )
            )
        return out

    def _why_not(
        self,
        a: Agreement | None,
        recipient: str,
        match: Match,
        record: dict[str, Any],
        now: datetime,
    ) -> str | None:
        if a is None:
            return "no agreement with the id the rule names"
        if (why := a.not_in_force_reason(now)) is not None:
            return why
        if recipient not in a.recipients or ALERT_TYPE not in a.event_types:
            return f"{a.ref} does not cover {ALERT_TYPE} for {recipient}"
        try:
            condition = self._condition(a)
            ctx = {"event": to_cel(record), "facts": derive_facts(record, self.event_type)}
            if condition is not None and not condition.holds(ctx):
                return f"condition of {a.ref} is false: {a.condition}"
        except ConditionError as exc:
            return f"condition of {a.ref} could not be evaluated: {exc}"
        outside = [p for p in match.partners if p not in a.controllers]
        if outside:
            return f"{a.ref} does not name {', '.join(outside)} among its controllers"
        plan = self._plan(a)
        if isinstance(plan, str):
            return f"field plan of {a.ref} is invalid: {plan}"
        return None


def audit_record(
    d: AlertDecision,
    match: Match,
    now: datetime,
    *,
    instance: str,
    source: tuple[str, int, int],
    output_topic: str | None,
) -> AuditRecord:
    """The alert decision as the audit records any disclosure (DPA 2018 s62)."""
    dec, a = d.decision, d.agreement
    events = ", ".join(sorted({o.event_id for o in match.events}))
    return shared_audit_record(
        dec,
        legal_basis=a.legal_basis.summary() if a else None,
        gateways=a.legal_basis.gateways if a else (),
        decided_at=now.isoformat(),
        instance=instance,
        source=source,
        fields=dec.plan.audit_fields() if dec.plan is not None and dec.shared else None,
        output_topic=output_topic if dec.shared else None,
        notes=(
            f"linkage alert {match.rule.ref} from partners {', '.join(match.partners)}",
            f"contributing events: {events}",
        ),
        subjects=match.subjects,
    )

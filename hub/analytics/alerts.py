"""From a rule match to governed, audited alert disclosures.

An alert is an event of the catalogue type ``linkage-alert`` built from the match (rule and
contributing event ids; never an identity). For each recipient the rule names, the
agreement it names decides through the policy engine itself (``PolicyEngine.governing`` and
``check``: the same version choice, in-force rule, condition and field plan as partner
events, with ``hub-analytics`` as the provider), and one rule of its own: the agreement must
name every contributing partner as a controller. Every decision, shared or withheld,
becomes an audit record like the processor's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.agreements.lifecycle import ALERT_EVENT_TYPE, HUB_ANALYTICS
from hub.agreements.models import Agreement
from hub.agreements.watch import AgreementFiles
from hub.analytics.linkage import Match
from hub.audit.records import AuditRecord
from hub.catalogue.schemas import EventType
from hub.policy.decision import Decision, Outcome
from hub.policy.engine import PolicyEngine
from hub.policy.plan import RecordPlan

ALERT_TYPE = ALERT_EVENT_TYPE
HUB_PROVIDER = HUB_ANALYTICS  # who discloses an alert, in agreements and the audit: the hub
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
            "revision": 1,
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


@dataclass(frozen=True)
class AlertDecision:
    decision: Decision
    agreement: Agreement | None


class AlertGovernor:
    """Decides alerts through the policy engine. Given the agreement folder (as the worker
    does), it follows the files as the processor does: an approval or a suspension in the
    console reaches alerts within seconds, not at the worker's next restart."""

    def __init__(
        self, agreements: Sequence[Agreement] | Path | AgreementFiles, event_type: EventType
    ) -> None:
        self.event_type = event_type
        if isinstance(agreements, Path):
            agreements = AgreementFiles(agreements)
        self._files = agreements if isinstance(agreements, AgreementFiles) else None
        self._generation = self._files.generation if self._files else 0
        fixed = agreements if not isinstance(agreements, AgreementFiles) else ()
        self._engine = PolicyEngine(self._files.current() if self._files else fixed)

    def _current(self) -> PolicyEngine:
        if self._files is not None:
            agreements = self._files.current()
            if self._files.generation != self._generation:
                self._generation = self._files.generation
                self._engine = PolicyEngine(agreements)
        return self._engine

    def decide(self, match: Match, record: dict[str, Any], now: datetime) -> list[AlertDecision]:
        self._current()
        out = []
        for n in match.rule.notify:
            a = self._engine.considered(n.agreement, now)
            result = self._check(a, n.recipient, match, record, now)
            plan = result if isinstance(result, RecordPlan) else None
            out.append(
                AlertDecision(
                    Decision(
                        event_id=match.alert_id,
                        event_type=ALERT_TYPE,
                        provider=HUB_PROVIDER,
                        recipient=n.recipient,
                        outcome=Outcome.SHARED if plan is not None else Outcome.WITHHELD,
                        reason=(
                            f"rule {match.rule.ref} alert allowed by {a.ref}"
                            if plan is not None and a is not None
                            else f"rule {match.rule.ref}: {result}"
                        ),
                        agreement_id=a.id if a else None,
                        agreement_version=a.version if a else None,
                        plan=plan,
                    ),
                    a,
                )
            )
        return out

    def _check(
        self,
        a: Agreement | None,
        recipient: str,
        match: Match,
        record: dict[str, Any],
        now: datetime,
    ) -> RecordPlan | str:
        if a is None:
            return "no agreement with the id the rule names"
        result = self._engine.check(a, recipient, record, self.event_type, HUB_PROVIDER, now)
        if isinstance(result, str):
            return result
        # The alert's own rule: its pieces come from these partners, so each must be a
        # controller of (and so have signed) the agreement that tells the recipient.
        outside = [p for p in match.partners if p not in a.controllers]
        if outside:
            return f"{a.ref} does not name {', '.join(outside)} among its controllers"
        return result


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
    return AuditRecord.of_decision(
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

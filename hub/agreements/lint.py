"""``hub agreements lint``: the checks an IG officer would want before signing.

Each finding names the agreement, the clause (when one is at fault), what is wrong and what
to change. Conditions are "type-checked" by evaluating them against schema-valid sample
events: CEL here has no static checker, and a condition that fails on real-shaped data
would fail closed in production (withholding everything), which the linter must catch.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from hub.agreements import lifecycle
from hub.agreements.gateways import GATEWAYS, NEEDS_SCHEDULE1, code_of
from hub.agreements.lint_freetext import free_text_kept
from hub.agreements.models import Agreement, State
from hub.agreements.partnership import PartnerKind, Partnership
from hub.catalogue.schemas import Catalogue, EventType
from hub.policy.conditions import ConditionError, compile_condition
from hub.policy.facts import derive_facts, to_cel
from hub.policy.plan import FieldPlan, PlanError, RecordPlan, compile_plan

Samples = Callable[[EventType], Sequence[Mapping[str, Any]]]

# Bodies whose records about people are patient / social care information.
_CARE_BODIES = frozenset({PartnerKind.HEALTH, PartnerKind.LOCAL_AUTHORITY})


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    agreement: str
    clause: str | None
    code: str
    severity: Severity
    message: str
    fix: str

    def line(self) -> str:
        where = self.agreement + (f" clause '{self.clause}'" if self.clause else "")
        return f"{self.severity.value}: {where}: {self.code}: {self.message} -> {self.fix}"


def _leaves(plan: RecordPlan) -> Iterator[FieldPlan]:
    stack = list(plan.fields)
    while stack:
        f = stack.pop(0)
        yield f
        stack[0:0] = list(f.children)


def _current(agreements: Sequence[Agreement], now: datetime) -> list[Agreement]:
    """The version decisions name today and every newer one (hub.agreements.lifecycle)."""
    from hub.agreements.lint_lifecycle import linted_versions

    return [
        v
        for versions in lifecycle.by_id(agreements).values()
        for v in linted_versions(versions, now)
    ]


class Linter:
    def __init__(
        self,
        catalogue: Catalogue,
        partnership: Partnership,
        samples: Samples,
        now: datetime,
    ) -> None:
        self._catalogue = catalogue
        self._partnership = partnership
        self._samples = samples
        self._now = now
        self._sample_cache: dict[str, list[dict[str, Any]]] = {}

    def activations(self, event_type: EventType) -> list[dict[str, Any]]:
        if event_type.slug not in self._sample_cache:
            self._sample_cache[event_type.slug] = [
                {"event": to_cel(e), "facts": derive_facts(e, event_type)}
                for e in self._samples(event_type)
            ]
        return self._sample_cache[event_type.slug]

    def lint(self, agreements: Sequence[Agreement]) -> list[Finding]:
        findings: list[Finding] = []
        # Imported here: lint_lifecycle builds on this module's Finding.
        from hub.agreements.lint_lifecycle import lifecycle_findings

        for a in _current(agreements, self._now):
            findings.extend(self._one(a))
        findings.extend(lifecycle_findings(agreements, self._partnership, self._now))
        findings.extend(self._overlaps(agreements))
        return findings

    def _one(self, a: Agreement) -> Iterator[Finding]:
        def f(
            code: str,
            message: str,
            fix: str,
            clause: str | None = None,
            severity: Severity = Severity.ERROR,
        ) -> Finding:
            return Finding(a.ref, clause, code, severity, message, fix)

        for pid in a.providers:
            if self._partnership.partner(pid) is None and pid != lifecycle.HUB_ANALYTICS:
                yield f(
                    "unknown-party",
                    f"provider '{pid}' is not in partners.yaml",
                    "add the partner to the register or correct the id",
                )
        for rid in a.recipients:
            if self._partnership.recipient(rid) is None and self._partnership.partner(rid) is None:
                yield f(
                    "unknown-party",
                    f"recipient '{rid}' is not in partners.yaml",
                    "add the recipient to the register or correct the id",
                )
        if a.review_date < self._now.date():
            yield f(
                "review-overdue",
                f"review date {a.review_date} has passed",
                "review the agreement and issue a new version with a new review date",
                severity=Severity.WARNING,
            )
        try:
            condition = compile_condition(a.condition)
        except ConditionError as exc:
            yield f(
                "condition-syntax",
                f"condition does not parse: {exc}",
                "fix the CEL expression (see docs/governance)",
            )
            condition = None
        for slug in a.event_types:
            event_type = self._catalogue.get(slug)
            if event_type is None:
                yield f(
                    "unknown-event-type",
                    f"event type '{slug}' is not in the catalogue",
                    "use a slug from docs/partners/catalogue.md",
                )
                continue
            try:
                plan = compile_plan(a, event_type)
            except PlanError as exc:
                yield f(
                    "clause-invalid",
                    str(exc),
                    "correct the clause against the schema",
                    clause=exc.clause_id,
                )
                continue
            yield from self._legal(
                a, plan, f, self._may_cover_children(plan, condition, event_type)
            )
            yield from free_text_kept(plan, f)
            if condition is not None:
                yield from self._condition(a, condition, event_type, f)

    def _may_cover_children(self, plan: RecordPlan, condition: Any, event_type: EventType) -> bool:
        """True when a child-tagged field is shared, or some sample about a child passes."""
        if any("child" in p.field.tags for p in _leaves(plan)):
            return True
        for activation in self.activations(event_type):
            age = activation["facts"].get("subject_age")
            if age is None or age >= 18:
                continue
            try:
                if condition is None or condition.holds(activation):
                    return True
            except ConditionError:
                continue
        return False

    def _legal(
        self, a: Agreement, plan: RecordPlan, f: Callable[..., Finding], about_children: bool
    ) -> Iterator[Finding]:
        basis = a.legal_basis
        leaves = list(_leaves(plan))
        if basis.article6 is None and basis.dpa_part3 is None:
            yield f(
                "no-lawful-basis",
                "names neither a UK GDPR Article 6 basis nor a DPA 2018 Part 3 purpose",
                "add legal_basis.article6 (or dpa_part3 for law-enforcement processing)",
            )
        if not basis.gateways:
            yield f(
                "no-gateway",
                "names no statutory gateway or common-law basis for the disclosure",
                "add legal_basis.gateways from the maintained list",
            )
        special = [p for p in leaves if "special-category" in p.field.tags]
        if special and basis.article9 is None and basis.dpa_part3 is None:
            yield f(
                "special-category-without-art9",
                f"shares special-category field '{special[0].field.path}' without an "
                "Article 9 condition (or DPA 2018 Part 3 basis)",
                "add legal_basis.article9 with its Schedule 1 condition, or drop the field",
                clause=special[0].clause_id,
            )
        if basis.article9 and code_of(basis.article9) in NEEDS_SCHEDULE1 and not basis.schedule1:
            yield f(
                "article9-without-schedule1",
                f"Article 9 condition {code_of(basis.article9)} needs a DPA 2018 Schedule 1 "
                "condition",
                "add legal_basis.schedule1, e.g. 'para 18 safeguarding ...'",
            )
        personal = [
            p for p in leaves if p.field.tags & {"pii.direct", "pii.quasi", "special-category"}
        ]
        care_providers = [
            pid
            for pid in a.providers
            if (p := self._partnership.partner(pid)) is not None and p.kind in _CARE_BODIES
        ]
        excluding = [g for g in basis.gateways if GATEWAYS[g].excludes_patient_information]
        if care_providers and excluding and personal:
            yield f(
                "patient-information-gateway",
                f"relies on {excluding[0]} to share personal data from "
                f"{', '.join(care_providers)}, but that gateway does not cover patient or "
                "social care information",
                "rely on a gateway that covers it (e.g. Children Act 2004 s11, Care Act 2014 "
                "s42) or share only anonymised data",
                clause=personal[0].clause_id,
            )
        if about_children and personal and not a.children_data:
            yield f(
                "children-without-high-privacy",
                "can share personal data about children but states no high-privacy "
                "treatment for children's data",
                "add children_data: how children's data is minimised and protected",
            )

    def _condition(
        self, a: Agreement, condition: Any, event_type: EventType, f: Callable[..., Finding]
    ) -> Iterator[Finding]:
        errors: list[str] = []
        samples = self.activations(event_type)
        for activation in samples:
            try:
                condition.holds(activation)
            except ConditionError as exc:
                errors.append(str(exc))
        if samples and len(errors) == len(samples):
            yield f(
                "condition-type",
                f"condition fails on every sample {event_type.slug}: {errors[0]}",
                "refer only to fields of the schema (event.<path>) and "
                "facts; compare like with like; test optional facts with has()",
            )
        elif errors:
            yield f(
                "condition-type",
                f"condition fails on {len(errors)} of {len(samples)} "
                f"sample {event_type.slug} events: {errors[0]}",
                "guard optional values with has() or null checks",
                severity=Severity.WARNING,
            )

    def _overlaps(self, agreements: Sequence[Agreement]) -> Iterator[Finding]:
        live = [a for a in agreements if a.state(self._now) is State.IN_FORCE]
        governs = {g.ref for g in lifecycle.governing_all(agreements, self._now).values() if g}
        for a, b in itertools.combinations(sorted(live, key=lambda x: x.ref), 2):
            if a.id != b.id and not {a.ref, b.ref} <= governs:
                continue  # a version in force but displaced by a newer one decides nothing
            shared = {
                (p, r, e)
                for p in set(a.providers) & set(b.providers)
                for r in set(a.recipients) & set(b.recipients)
                for e in set(a.event_types) & set(b.event_types)
            }
            for provider, recipient, slug in sorted(shared):
                if a.id == b.id:
                    yield Finding(
                        a.ref,
                        None,
                        "versions-overlap",
                        Severity.WARNING,
                        f"{a.ref} and {b.ref} are both in force; the newest decides",
                        f"set effective_to on the older version of {a.id}",
                    )
                    break
                event_type = self._catalogue.get(slug)
                if event_type is None or not self._both_hold(a, b, event_type):
                    continue
                yield Finding(
                    a.ref,
                    None,
                    "overlap",
                    Severity.ERROR,
                    f"{a.ref} and {b.ref} can both give {recipient} the same {slug} "
                    f"from {provider}",
                    "narrow one condition so they exclude each "
                    "other, or merge them into one agreement",
                )

    def _both_hold(self, a: Agreement, b: Agreement, event_type: EventType) -> bool:
        try:
            ca, cb = compile_condition(a.condition), compile_condition(b.condition)
        except ConditionError:
            return False
        for activation in self.activations(event_type):
            try:
                if (ca is None or ca.holds(activation)) and (cb is None or cb.holds(activation)):
                    return True
            except ConditionError:
                continue
        return False

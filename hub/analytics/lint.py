"""``hub analytics lint``: check alert rules against the catalogue, partners and agreements.

A rule that names a field its event type lacks would never fire; one naming an agreement
that does not cover its recipient would always be withheld. Both are caught here, before
the rule runs, like ``hub agreements lint`` does for agreements.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from hub.agreements.lifecycle import HUB_ANALYTICS, by_id, considered
from hub.agreements.lint import Finding, Severity
from hub.agreements.models import Agreement, State
from hub.agreements.partnership import Partnership
from hub.analytics.alerts import ALERT_TYPE
from hub.analytics.rules import AlertRule
from hub.catalogue.schemas import Catalogue


def lint_rules(
    rules: Sequence[AlertRule],
    catalogue: Catalogue,
    partnership: Partnership,
    agreements: Sequence[Agreement],
    now: datetime,
) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            findings.append(_f(r, "duplicate-rule", "two files define this rule", "rename one"))
        seen.add(r.id)
        findings.extend(_one(r, catalogue, partnership, agreements, now))
    return findings


def _f(
    r: AlertRule, code: str, message: str, fix: str, severity: Severity = Severity.ERROR
) -> Finding:
    return Finding(f"alert {r.ref}", None, code, severity, message, fix)


def _one(
    r: AlertRule,
    catalogue: Catalogue,
    partnership: Partnership,
    agreements: Sequence[Agreement],
    now: datetime,
) -> Iterator[Finding]:
    for s in r.all_selectors():
        et = catalogue.get(s.event_type)
        if et is None:
            yield _f(
                r,
                "unknown-event-type",
                f"'{s.event_type}' is not in the catalogue",
                "use a slug from docs/partners/catalogue.md",
            )
            continue
        if not any(f.is_record and s.role in f.tags for f in et.walk()):
            yield _f(
                r,
                "no-person",
                f"{s.event_type} has no '{s.role}' record to link on",
                "link on a role the event type has",
            )
        for path in s.where:
            if et.field(path) is None:
                yield _f(
                    r,
                    "unknown-field",
                    f"{s.event_type} has no field '{path}'",
                    "use a dotted path from the event's schema",
                )
    for n in r.notify:
        if partnership.recipient(n.recipient) is None:
            yield _f(
                r,
                "unknown-recipient",
                f"'{n.recipient}' is not in partners.yaml",
                "add the recipient to the register or correct the id",
            )
        a = considered(by_id(agreements).get(n.agreement, []), now)
        if a is None:
            yield _f(
                r,
                "unknown-agreement",
                f"agreement '{n.agreement}' does not exist",
                "add it under partnership/agreements/ and have it approved",
            )
            continue
        if n.recipient not in a.recipients or ALERT_TYPE not in a.event_types:
            yield _f(
                r,
                "agreement-does-not-cover",
                f"{a.ref} does not cover {ALERT_TYPE} for {n.recipient}",
                f"name an agreement whose event_types include {ALERT_TYPE} and whose "
                f"recipients include {n.recipient}",
            )
        if a.providers != (HUB_ANALYTICS,):
            yield _f(
                r,
                "alert-agreement-has-providers",
                f"{a.ref} names providers {list(a.providers)}: partners could publish "
                "alerts of their own",
                f"name providers [{HUB_ANALYTICS}] alone: only the hub raises linkage alerts",
            )
        if a.state(now) is not State.IN_FORCE:
            yield _f(
                r,
                "agreement-not-in-force",
                f"{a.ref} is {a.state(now).value}",
                "alerts to this recipient are withheld until it is in force",
                Severity.WARNING,
            )

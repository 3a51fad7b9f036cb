"""Lint of the lifecycle: who must sign, and which version governs (hub.agreements.lifecycle).

These findings say, before anyone is surprised in production, what the engine will do with
the versions on disk: an approved version that cannot take over yet and what it lacks, an
agreement under which nothing is shared today, a version that can never govern, a party
that must sign but is not named a controller.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from hub.agreements import lifecycle
from hub.agreements.lint import Finding, Severity
from hub.agreements.models import Agreement, State, Status
from hub.agreements.partnership import Partnership


def linted_versions(versions: Sequence[Agreement], now: datetime) -> list[Agreement]:
    """The versions that matter today: the one decisions name and every newer one (older
    versions are history; their text stays readable but cannot govern again)."""
    named = lifecycle.considered(versions, now)
    floor = named.version if named is not None else 0
    return [v for v in versions if v.version >= floor]


def lifecycle_findings(
    agreements: Sequence[Agreement], partnership: Partnership, now: datetime
) -> Iterator[Finding]:
    for versions in lifecycle.by_id(agreements).values():
        for v in linted_versions(versions, now):
            yield from _parties(v, partnership)
        yield from _governing(versions, now)


def _parties(a: Agreement, partnership: Partnership) -> Iterator[Finding]:
    hub = lifecycle.HUB_ANALYTICS
    alert = lifecycle.ALERT_EVENT_TYPE
    if (hub in a.providers or alert in a.event_types) and (
        a.providers != (hub,) or a.event_types != (alert,)
    ):
        yield Finding(
            a.ref,
            None,
            "hub-provider",
            Severity.ERROR,
            f"only {hub} provides {alert} events, and it provides nothing else "
            f"(providers {list(a.providers)}, event types {list(a.event_types)})",
            f"make alert agreements name providers [{hub}] and event_types [{alert}] only",
        )
    operators = [
        r.operated_by if (r := partnership.recipient(rid)) is not None else rid
        for rid in a.recipients
    ]
    # Every party to a flow is a controller of it, and every controller signs.
    outside = sorted({p for p in [*a.providers, *operators] if p != hub} - set(a.controllers))
    if outside:
        yield Finding(
            a.ref,
            None,
            "controllers-incomplete",
            Severity.ERROR,
            f"{', '.join(outside)} provide or receive under it but are not named controllers, "
            "so their sign-off would not be required",
            "add them to controllers (each controller must sign before the version is in force)",
        )
    strangers = [
        s.party or "(no party)" for s in a.approval.sign_off if s.party not in a.controllers
    ]
    if strangers:
        yield Finding(
            a.ref,
            None,
            "sign-off-not-a-controller",
            Severity.WARNING,
            f"sign-off given for {', '.join(strangers)}, which is not a controller: it counts "
            "for nothing",
            "record each sign-off with party: <controller id>",
        )


def _governing(versions: Sequence[Agreement], now: datetime) -> Iterator[Finding]:
    gov = lifecycle.pick(versions, now)
    named = lifecycle.considered(versions, now)
    governs = f"{gov.ref} governs" if gov is not None else "nothing governs"
    for v in versions:
        newer = gov is None or v.version > gov.version
        if newer and v.status is Status.APPROVED and not lifecycle.taken_effect(v, now):
            why = v.not_in_force_reason(now) or ""
            yield Finding(
                v.ref,
                None,
                "approved-not-in-force",
                Severity.WARNING,
                f"approved but not in force ({why.split(' ', 2)[-1]}); {governs} until it is",
                "collect the missing DPO review and sign-offs, or correct its window"
                if v.unsigned()
                else "nothing to do if the date is intended",
            )
        stuck = v.status is Status.DRAFT or v.state(now) is State.AWAITING_SIGN_OFF
        if gov is not None and v.version < gov.version and stuck:
            yield Finding(
                v.ref,
                None,
                "never-governs",
                Severity.WARNING,
                f"{v.status.value} version older than {gov.ref}: approving and signing it "
                "would change nothing, the newer version governs",
                f"issue the change as a new version above v{gov.version}",
            )
    if gov is None and named is not None and named.status is not Status.DRAFT:
        yield Finding(
            named.ref,
            None,
            "nothing-in-force",
            Severity.WARNING,
            f"nothing is shared under {named.id} today: {named.ref} is "
            f"{lifecycle.state_label(named, now)}",
            "issue a new version, or complete this one's sign-off",
        )

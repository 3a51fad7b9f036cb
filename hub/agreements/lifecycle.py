"""What governs today: the one lifecycle rule, used by the engine, the console, the CLI and lint.

An agreement has versions. At any moment at most one of them *governs*: the newest version
that has **taken effect**, which is either

- **in force**: approved, reviewed by the DPO, signed off for every controller, inside its
  effective window, and past its last signature; or
- **a deliberate stop**: suspended or revoked, from its effective date.

Nothing else displaces a version in force. A draft, an approved version still awaiting a
signature, one whose window has not begun, or one that has expired never stops the version
in force from sharing (that was the failure: an unsigned approved draft "governed" and
withheld every event). Stopping sharing is always an explicit act (a suspension), which
the console confirms and which says what stops.

When no version has taken effect, nothing governs and nothing is shared: decisions then
name the newest non-draft version (or the newest draft), whose state says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from hub.agreements.models import Agreement, Status

# The provider of linkage alerts in agreements and the audit: the hub's analytics, acting
# for the controllers named in the alert agreement (it is not a partner and signs nothing).
HUB_ANALYTICS = "hub-analytics"
ALERT_EVENT_TYPE = "linkage-alert"

_STOPS = (Status.SUSPENDED, Status.REVOKED)

Flow = tuple[str, str, str]  # (provider, recipient, event type)


def taken_effect(a: Agreement, now: datetime) -> bool:
    """True when ``a`` may govern at ``now``: in force, or a stop whose date has come."""
    if a.status in _STOPS:
        return a.effective_from <= now.date()
    return a.not_in_force_reason(now) is None


def newest_first(agreements: Iterable[Agreement], agreement_id: str) -> list[Agreement]:
    return sorted((a for a in agreements if a.id == agreement_id), key=lambda a: -a.version)


def pick(versions: Sequence[Agreement], now: datetime) -> Agreement | None:
    """The governing version among the versions of one agreement (any order)."""
    return next(
        (a for a in sorted(versions, key=lambda a: -a.version) if taken_effect(a, now)), None
    )


def governing(
    agreements: Iterable[Agreement], agreement_id: str, now: datetime
) -> Agreement | None:
    """The version of ``agreement_id`` that governs at ``now``, or None when none does."""
    return pick(newest_first(agreements, agreement_id), now)


def considered(versions: Sequence[Agreement], now: datetime) -> Agreement | None:
    """The version a decision names: the governing one; else the newest non-draft version,
    else the newest draft, so a withholding says why nothing shares."""
    chosen = pick(versions, now)
    if chosen is not None:
        return chosen
    ordered = sorted(versions, key=lambda a: -a.version)
    return next(
        (a for a in ordered if a.status is not Status.DRAFT), ordered[0] if ordered else None
    )


def by_id(agreements: Iterable[Agreement]) -> dict[str, list[Agreement]]:
    """Versions of each agreement, oldest first, agreements in id order."""
    out: dict[str, list[Agreement]] = {}
    for a in sorted(agreements, key=lambda x: (x.id, x.version)):
        out.setdefault(a.id, []).append(a)
    return out


def governing_all(agreements: Iterable[Agreement], now: datetime) -> dict[str, Agreement | None]:
    """Every agreement id with the version that governs it at ``now`` (None: nothing does)."""
    return {aid: pick(versions, now) for aid, versions in by_id(agreements).items()}


def flows(a: Agreement | None, now: datetime) -> set[Flow]:
    """What ``a`` can share at ``now``: (provider, recipient, event type), before conditions."""
    if a is None or a.not_in_force_reason(now) is not None:
        return set()
    return {(p, r, e) for p in a.providers for r in a.recipients for e in a.event_types}


def describe(flow_set: Iterable[Flow]) -> str:
    """Flows grouped readably: ``merseyside-police → wirral-mash: missing-episode``."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for p, r, e in sorted(flow_set):
        grouped.setdefault((p, r), []).append(e)
    return "; ".join(f"{p} → {r}: {', '.join(es)}" for (p, r), es in grouped.items())


def state_label(a: Agreement, now: datetime) -> str:
    """The state with what it waits for, e.g. ``awaiting sign-off (wirral-mbc)``."""
    state = a.state(now).value
    missing = a.unsigned()
    if a.status is Status.APPROVED and missing:
        return f"{state} ({', '.join(missing)})"
    return state


@dataclass(frozen=True)
class Change:
    """What an action does to one agreement's governing version and its flows at ``now``."""

    agreement_id: str
    before: Agreement | None
    after: Agreement | None
    stopped: frozenset[Flow]
    started: frozenset[Flow]

    @property
    def changes_governing(self) -> bool:
        return _ref(self.before) != _ref(self.after)

    def summary(self) -> str:
        """One plain sentence: which version governs after the action, and what stops."""
        if not self.changes_governing:
            gov = _ref(self.after) or "nothing"
            return f"{self.agreement_id}: what governs does not change ({gov} governs)."
        text = f"{self.agreement_id}: {_ref(self.before) or 'nothing'} governed; now " + (
            f"{_ref(self.after)} governs." if self.after is not None else "nothing governs."
        )
        if self.stopped:
            text += f" Stops being shared: {describe(self.stopped)}."
        if self.started:
            text += f" Starts being shared: {describe(self.started)}."
        return text


def _ref(a: Agreement | None) -> str | None:
    return a.ref if a is not None else None


def change(
    before: Sequence[Agreement], after: Sequence[Agreement], agreement_id: str, now: datetime
) -> Change:
    """Compare what governs ``agreement_id`` among ``before`` and ``after`` at ``now``."""
    old, new = governing(before, agreement_id, now), governing(after, agreement_id, now)
    was, will = flows(old, now), flows(new, now)
    return Change(agreement_id, old, new, frozenset(was - will), frozenset(will - was))


def changes(before: Sequence[Agreement], after: Sequence[Agreement], now: datetime) -> list[Change]:
    """Every agreement whose governing version differs between two sets of files (a reload:
    a file edited, added or deleted outside the console must not change sharing unseen)."""
    ids = sorted({a.id for a in before} | {a.id for a in after})
    found = [change(before, after, agreement_id, now) for agreement_id in ids]
    return [c for c in found if c.changes_governing]

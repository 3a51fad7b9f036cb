"""Watching the agreements: each agreement's decisions over time by outcome, and an alert
when its share rate drops to zero or jumps.

The failure this is for: an approval or a new version that silently stops a flow (the
decisions go on, all withheld, naming the agreement) or opens one far wider than before.
Both show in the activity counts long before anyone complains; the activity page says so.
Pure: from the activity rows the page already reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from hub.audit.queries import ActivityRow

RECENT_DAYS = 3  # the window compared with everything before it in the period
MIN_BEFORE = 5  # shared decisions before, for "stopped" to mean something
MIN_RECENT = 10  # decisions recently, for a jump to mean something


@dataclass
class AgreementVolume:
    agreement_id: str
    shared: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # day -> count
    withheld: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def totals(self, days: Iterable[str]) -> tuple[int, int]:
        """(shared, all decisions) on these days."""
        ds = list(days)
        s = sum(self.shared.get(d, 0) for d in ds)
        return s, s + sum(self.withheld.get(d, 0) for d in ds)


@dataclass(frozen=True)
class RateAlert:
    agreement_id: str
    kind: str  # "stopped" or "jumped"
    message: str


def volumes(rows: Iterable[ActivityRow]) -> dict[str, AgreementVolume]:
    out: dict[str, AgreementVolume] = {}
    for r in rows:
        if not r.agreement_id:
            continue
        v = out.setdefault(r.agreement_id, AgreementVolume(r.agreement_id))
        (v.shared if r.outcome == "shared" else v.withheld)[r.day] += r.count
    return out


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.0f}%" if total else "none"


def rate_alerts(
    by_agreement: dict[str, AgreementVolume], days: Sequence[str], end: date
) -> list[RateAlert]:
    """Agreements whose share rate over the last ``RECENT_DAYS`` days (to ``end``) dropped
    to zero, or jumped, against the earlier days of the period."""
    cut = (end - timedelta(days=RECENT_DAYS - 1)).isoformat()
    recent = [d for d in days if d >= cut]
    before = [d for d in days if d < cut]
    if not recent or not before:
        return []
    alerts = []
    for aid, v in sorted(by_agreement.items()):
        s0, n0 = v.totals(before)
        s1, n1 = v.totals(recent)
        if s0 >= MIN_BEFORE and n1 and s1 == 0:
            alerts.append(RateAlert(aid, "stopped", (
                f"nothing shared under {aid} in the last {RECENT_DAYS} days: {n1} decisions, "
                f"all withheld (before: {s0} of {n0} shared). Check its latest version and "
                "approvals: a new version may have stopped the flow."
            )))  # fmt: skip
            continue
        rate0, rate1 = (s0 / n0 if n0 else 0.0), (s1 / n1 if n1 else 0.0)
        daily0, daily1 = s0 / len(before), s1 / len(recent)
        wider = n1 >= MIN_RECENT and n0 >= MIN_RECENT and rate1 >= max(2 * rate0, rate0 + 0.3)
        busier = s1 >= MIN_RECENT and daily1 > 3 * max(daily0, 1.0)
        if wider or busier:
            alerts.append(RateAlert(aid, "jumped", (
                f"sharing under {aid} jumped in the last {RECENT_DAYS} days: {s1} shared "
                f"({_pct(s1, n1)} of decisions, {daily1:.0f} a day) against {s0} before "
                f"({_pct(s0, n0)}, {daily0:.0f} a day). Check that this is what was agreed."
            )))  # fmt: skip
    return alerts

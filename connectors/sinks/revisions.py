"""Revisions and retraction notices at a sink (issue 18): what a delivery is about and which
of several records for one event the recipient must hold.

A recipient topic carries, for one (provider, event id), the disclosures of each revision
and retraction notices (hub/catalogue/notice.py), in any order: records are keyed by
disclosure id, so they may sit on different partitions, and redeliveries repeat them. The
sink therefore never applies "the last one read" but the highest ``rank``: the higher
revision, and at the same revision a notice over a disclosure. So an older revision arriving
late never replaces a newer one, a tombstone is never undone by a late copy of what it
withdrew, and a later revision the recipient may receive again (its agreements allow the
corrected event) does replace a tombstone.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.base.sink import Delivery
from hub.catalogue.headers import PROVIDER, REVISION

# What a sink does with the personal data a notice withdraws: "delete" (the default) keeps
# only a tombstone with the reason; "flag" keeps the data marked retracted, for a recipient
# whose own records policy requires it (its agreement must say so).
DELETE, FLAG = "delete", "flag"
ON_RETRACTION = (DELETE, FLAG)


@dataclass(frozen=True)
class About:
    provider: str
    event_id: str
    revision: int
    notice: bool
    reason_code: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.provider, self.event_id)

    @property
    def rank(self) -> tuple[int, int]:
        return (self.revision, 1 if self.notice else 0)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def about(d: Delivery) -> About:
    """The event a delivery is about, from the hub's headers, else from the record (records
    written before issue 18, or a sink fed without headers)."""
    record, headers = d.record, d.headers
    notice = "notice_id" in record and "reason_code" in record
    if notice:
        return About(
            str(record.get("provider", "")),
            str(record.get("event_id", "")),
            int(record.get("revision") or 1),
            True,
            str(record.get("reason_code", "")),
        )
    raw = record.get("envelope")
    envelope: dict[str, object] = raw if isinstance(raw, dict) else {}
    provider = _text(headers.get(PROVIDER)) or str(envelope.get("source_partner") or "")
    revision = _text(headers.get(REVISION)) or str(envelope.get("revision") or 1)
    return About(provider, d.event_id or str(envelope.get("event_id", "")), int(revision), False)


def check_mode(mode: str) -> str:
    if mode not in ON_RETRACTION:
        raise ValueError(f"on_retraction must be one of {', '.join(ON_RETRACTION)}, not {mode!r}")
    return mode

"""The ``event-retraction`` a source publishes when a partner withdraws one of its events
(issue 18): a web hook DELETE, a soft-deleted row of a polled table. Its id is derived from
the partner, the event and the reason, so a retried DELETE or a re-read row is the same
retraction (the hub takes it once)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

RETRACTION = "event-retraction"
REASONS = ("RAISED_IN_ERROR", "WRONG_PERSON", "DUPLICATE", "COURT_ORDER", "OTHER")
_NS = uuid.UUID("8d7f2b1e-3c4a-4e5f-9a6b-7c8d9e0f1a2b")


def retraction_of(
    partner: str, event_id: str, reason: object, reason_text: object = None
) -> dict[str, object]:
    """The retraction in the catalogue's JSON shape (``coerce_event`` checks the reason)."""
    now = datetime.now(UTC).isoformat()
    retraction_id = uuid.uuid5(_NS, f"{partner}|{event_id}|{reason}")
    return {
        "envelope": {
            "event_id": str(retraction_id),
            "source_partner": partner,
            "occurred_at": now,
            "recorded_at": now,
        },
        "retracted_event_id": event_id,
        "reason": str(reason or ""),
        "reason_text": reason_text,
    }

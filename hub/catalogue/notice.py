"""The retraction notice: what a recipient receives when an event it was sent is withdrawn
(the partner retracted it) or may no longer be held (a correction took it out of what the
recipient's agreements allow). UK GDPR Art 19, DPA 2018 ss46-48.

One fixed schema for every recipient and event type: it names the event by reference and
carries no personal data, so no agreement shapes it. It travels on the recipient's own topic
for the event type (``share.<recipient>.<event>.v1``), beside the disclosures it withdraws,
so a sink that reads the topic sees both; a sink tells it apart by its schema (record name
``RetractionNotice``) or by the header ``hub.notice: retraction``.
"""

from __future__ import annotations

from typing import Any

NOTICE_HEADER = "hub.notice"
NOTICE_NAME = "uk.partnership.hub.share.RetractionNotice"
# The reason a recipient reads: the partner's reason code, or the hub's own when a
# correction means the recipient may no longer hold the event.
NO_LONGER_SHARED = "NO_LONGER_SHARED"

RETRACTION_NOTICE_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "RetractionNotice",
    "namespace": "uk.partnership.hub.share",
    "doc": "Delete the personal data of an event you received from the hub (UK GDPR Art 19): "
    "its publisher withdrew it, or a correction means your agreements no longer allow you "
    "to hold it. Keep a tombstone with the reason; the hub expects a receipt.",
    "fields": [
        {"name": "notice_id", "type": "string", "doc": "Id of this notice (a disclosure id)."},
        {"name": "event_id", "type": "string", "doc": "The withdrawn event's id."},
        {"name": "event_type", "type": "string", "doc": "The withdrawn event's type slug."},
        {"name": "provider", "type": "string", "doc": "The partner that published the event."},
        {
            "name": "revision",
            "type": "int",
            "doc": "The event's revision at the notice: a later revision may be shared again "
            "if your agreements allow it then; an earlier one must not replace the tombstone.",
        },
        {
            "name": "reason_code",
            "type": "string",
            "doc": "RAISED_IN_ERROR, WRONG_PERSON, DUPLICATE, COURT_ORDER, OTHER (the "
            "publisher retracted the event) or NO_LONGER_SHARED (a correction took it out "
            "of what your agreements allow).",
        },
        {"name": "reason", "type": "string", "doc": "The reason in words, written by the hub."},
        {
            "name": "withdraws",
            "type": ["null", "string"],
            "default": None,
            "doc": "The disclosure id of the last record of this event you were sent.",
        },
        {"name": "issued_at", "type": "string", "doc": "When the hub issued it (ISO 8601)."},
    ],
}


def notice_subject(topic: str) -> str:
    """The registry subject of the notices on a recipient topic (beside the agreements')."""
    return f"{topic}-retraction-notice-value"

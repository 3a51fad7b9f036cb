"""The headers on every record the hub sends a recipient: part of the recipient's contract,
so named once here and built by one function (the processor's disclosures and retraction
notices, the analytics' alerts; the sinks read them by these names).

- ``hub.disclosure_id``: the idempotency key of the disclosure (also the record key);
- ``hub.event_id`` and ``hub.provider``: which partner's event it is about;
- ``hub.recipient``: whom it is for;
- ``hub.agreement``: ``<id>@v<version>`` it was shared under (empty on a notice);
- ``hub.revision``: the partner's revision of the event (issue 18);
- ``hub.withdraws``: the disclosure an update or notice replaces, when there is one.
"""

from __future__ import annotations

# As hub.kafka.records.Headers; not imported, so the catalogue needs no Kafka client.
Headers = list[tuple[str, bytes]]

DISCLOSURE_ID = "hub.disclosure_id"
EVENT_ID = "hub.event_id"
PROVIDER = "hub.provider"
RECIPIENT = "hub.recipient"
AGREEMENT = "hub.agreement"
REVISION = "hub.revision"
WITHDRAWS = "hub.withdraws"
ALERT_RULE = "hub.alert_rule"


def disclosure_headers(
    disclosure_id: str,
    *,
    event_id: str,
    provider: str,
    recipient: str,
    agreement: str = "",
    revision: int | None = None,
    withdraws: str | None = None,
) -> Headers:
    """The hub's headers of one record for a recipient, in a fixed order (batch-signed
    outputs and tests compare them as sent)."""
    headers: Headers = [
        (DISCLOSURE_ID, disclosure_id.encode()),
        (EVENT_ID, event_id.encode()),
        (PROVIDER, provider.encode()),
        (RECIPIENT, recipient.encode()),
        (AGREEMENT, agreement.encode()),
    ]
    if revision is not None:
        headers.append((REVISION, str(revision).encode()))
    if withdraws is not None:
        headers.append((WITHDRAWS, withdraws.encode()))
    return headers

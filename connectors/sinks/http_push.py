"""HTTP push to a recipient API: one POST per disclosure, ``Idempotency-Key`` = disclosure id.

The body is JSON: ``disclosure_id``, ``recipient``, ``event_type``, ``agreement`` and the
``record`` exactly as the agreement lets the recipient see it. The API is expected to treat
a repeated ``Idempotency-Key`` as the same request (the usual contract of payment and case
APIs), so a redelivery after a crash never creates a second case.

Status codes decide what happens, by error type: 2xx (and 409, "already have it") is
delivered; 408, 425, 429, 5xx and connection failures are transient and retried with
backoff (``SinkUnavailable``); any other 4xx is a refusal: a failed receipt with the status
and the API's short reason (``DeliveryFailed``).

Corrections and retractions (issue 18): the body also carries ``provider``, ``event_id``,
``revision`` and, for an update, ``withdraws`` (the disclosure it replaces); the API keeps
one case per (provider, event id) and applies a POST only when its revision is higher than
the one it holds (records arrive in any order). A retraction notice is a ``DELETE`` of
``<url>/<provider>/<event id>`` with the notice as its body: the API deletes the personal
data and keeps a tombstone with ``reason_code``; a notice outranks a POST of the same
revision. 404 on a DELETE ("nothing held") is delivered: there is nothing to delete.

Retention (issue 18, connectors/sinks/retention.py): the recipient's system holds what was
pushed, so at the end of the agreement's retention the sink tells it to delete it. The sink
keeps a small ledger of what it pushed (connectors/sinks/ledger.py: disclosure id, provider,
event id, revision, agreement, delivered at; in the connector's ``state_dir``) and, for each
disclosure past its period, sends the erasure the way a retraction is sent: a ``DELETE`` of
``<url>/<provider>/<event id>`` (``Idempotency-Key: <disclosure id>:erased``) whose body is a
notice with ``reason_code: RETENTION_EXPIRED``, the reason naming the agreement and period,
the disclosure's ``revision`` and ``withdraws``. Under the contract above it removes the case
only if the API holds that revision or an older one: a later revision, delivered later, keeps
its own time to run. The receipt ``erased`` is written only once the API acknowledged (2xx,
or 404/410: nothing held); a failing API is tried again at the next run while deliveries go
on. Disclosures a retraction notice withdrew are not sent again (the tombstone is kept). A
disclosure erased at retention and then redelivered (a replay) is not pushed again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx

from connectors.base.errors import DeliveryFailed
from connectors.base.sink import Delivery, Outcome, write_each
from connectors.sinks.ledger import Held, SinkLedger
from connectors.sinks.records import to_json
from connectors.sinks.retention import Due, Period, RetentionEnforcer
from connectors.sinks.revisions import About, about
from hub.audit.records import ReceiptRecord
from hub.catalogue.headers import WITHDRAWS
from hub.errors import SinkUnavailable

log = logging.getLogger(__name__)
_TRANSIENT = {408, 425, 429}
EXPIRED = "RETENTION_EXPIRED"  # the reason code of an erasure at the end of retention


class HttpPushWriter:
    def __init__(
        self,
        url: str,
        system: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        ledger: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.url = url
        self.system = system
        self._clock = clock  # when a record is delivered: its retention runs from then
        # What was pushed, for retention (None: the sink does not enforce it).
        self.ledger = SinkLedger(ledger) if ledger is not None else None
        headers = {"Content-Type": "application/json", "User-Agent": "partner-data-hub-sink"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(timeout=timeout, headers=headers, transport=transport)

    def write(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        outcomes = write_each(deliveries, self._post)
        if self.ledger is not None:
            delivered = {o.disclosure_id: o.at for o in outcomes if o.status == "delivered"}
            try:  # before the receipts: a crash here re-pushes the batch (idempotent)
                self.ledger.hold(
                    _held(d, about(d), delivered[d.disclosure_id])
                    for d in deliveries
                    if d.disclosure_id in delivered
                )
            except Exception as exc:  # sqlite3.Error, OSError: the batch is tried again
                why = f"{self.system}: cannot record the push for retention: {exc}"
                raise SinkUnavailable(why) from exc
        return outcomes

    def _post(self, d: Delivery) -> str:
        what = about(d)
        gone = self.ledger.erased_delivery(d.disclosure_id) if self.ledger else None
        if gone is not None and not what.notice:
            return gone  # erased at retention, then replayed: never pushed again
        headers = {"Idempotency-Key": d.disclosure_id} | _trace(d.headers)
        if what.notice:
            url = self._case_url(what.provider, what.event_id)
            return self._send("DELETE", url, to_json(d.record), headers, gone_ok=True)
        withdraws = d.headers.get(WITHDRAWS)
        body = to_json(
            {
                "disclosure_id": d.disclosure_id,
                "recipient": d.recipient,
                "event_type": d.event_type,
                "agreement": d.agreement,
                "provider": what.provider,
                "event_id": what.event_id,
                "revision": what.revision,
                "withdraws": withdraws.decode() if withdraws else None,
                "record": d.record,
            }
        )
        return self._send("POST", self.url, body, headers)

    def _case_url(self, provider: str, event_id: str) -> str:
        path = "/".join(quote(part, safe="") for part in (provider, event_id))
        return f"{self.url.rstrip('/')}/{path}"

    def _send(
        self, method: str, url: str, body: str, headers: dict[str, str], gone_ok: bool = False
    ) -> str:
        try:
            response = self._client.request(method, url, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            raise SinkUnavailable(f"{self.system} unreachable: {type(exc).__name__}") from exc
        status = response.status_code
        if 200 <= status < 300 or status == 409 or (gone_ok and status in (404, 410)):
            return self._clock().isoformat()
        reason = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        if status in _TRANSIENT or status >= 500:
            raise SinkUnavailable(f"{self.system} answered {status}")
        raise DeliveryFailed(f"{self.system} refused it: HTTP {status} {reason}".strip())

    # Retention: the Holding of connectors/sinks/retention.py.

    def retention_enforcer(
        self, recipient: str, periods: Mapping[str, Period], *, clock: Callable[[], datetime]
    ) -> RetentionEnforcer:
        if self.ledger is None:
            raise ValueError(f"{self.system}: retention needs the push ledger (ledger=...)")
        return RetentionEnforcer(self, recipient, periods, clock=clock)

    def expired(self, cutoffs: Mapping[str, datetime]) -> list[tuple[str, str]]:
        return self.ledger.expired(cutoffs) if self.ledger else []

    def erase(
        self, due: Sequence[Due], receipts: Mapping[str, ReceiptRecord]
    ) -> tuple[ReceiptRecord, ...]:
        """One DELETE per disclosure; each acknowledged one marked erased with its receipt in
        the outbox at once (a crash between the two repeats the DELETE: the same key)."""
        assert self.ledger is not None
        done: list[ReceiptRecord] = []
        for d in due:
            held = self.ledger.get(d.disclosure_id)
            if held is None:
                continue
            try:
                self._erase_one(held, d, receipts[d.disclosure_id])
            except SinkUnavailable as exc:  # the API is down: the rest wait for the next run
                log.warning("retention: %s; erasures resume at the next run", exc)
                break
            except DeliveryFailed as exc:  # refused: logged, tried again at the next run
                log.warning("retention: erasure of %s: %s", d.disclosure_id, exc)
                continue
            self.ledger.erased([receipts[d.disclosure_id]], ready=True, at=self._clock())
            done.append(receipts[d.disclosure_id])
        return tuple(done)

    def _erase_one(self, held: Held, due: Due, receipt: ReceiptRecord) -> None:
        body = {
            "notice_id": receipt.receipt_id,
            "event_id": held.event_id,
            "event_type": held.event_type,
            "provider": held.provider,
            "revision": held.revision,
            "reason_code": EXPIRED,
            "reason": f"retention expired: {due.why}, delivered {held.delivered_at.isoformat()}",
            "withdraws": held.disclosure_id,
            "issued_at": receipt.at,
        }
        headers = {"Idempotency-Key": receipt.receipt_id}
        url = self._case_url(held.provider, held.event_id)
        self._send("DELETE", url, to_json(body), headers, gone_ok=True)

    def pending(self) -> list[ReceiptRecord]:
        return self.ledger.pending() if self.ledger else []

    def sent(self, receipts: Iterable[ReceiptRecord]) -> None:
        if self.ledger is not None:
            self.ledger.sent(receipts)

    def close(self) -> None:
        self._client.close()
        if self.ledger is not None:
            self.ledger.close()


def _held(d: Delivery, what: About, at: str) -> Held:
    return Held(
        d.disclosure_id,
        what.provider,
        what.event_id,
        d.event_type,
        what.revision,
        what.notice,
        d.agreement,
        datetime.fromisoformat(at),
    )


def _trace(headers: Mapping[str, bytes]) -> dict[str, str]:
    return {k: v.decode() for k, v in headers.items() if k in ("traceparent", "tracestate")}

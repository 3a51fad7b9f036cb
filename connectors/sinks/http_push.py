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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from connectors.base.errors import DeliveryFailed
from connectors.base.sink import Delivery, Outcome, write_each
from connectors.sinks.records import to_json
from connectors.sinks.revisions import about
from hub.catalogue.headers import WITHDRAWS
from hub.errors import SinkUnavailable

_TRANSIENT = {408, 425, 429}


class HttpPushWriter:
    def __init__(
        self,
        url: str,
        system: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.system = system
        headers = {"Content-Type": "application/json", "User-Agent": "partner-data-hub-sink"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(timeout=timeout, headers=headers, transport=transport)

    def write(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        return write_each(deliveries, self._post)

    def _post(self, d: Delivery) -> str:
        what = about(d)
        headers = {"Idempotency-Key": d.disclosure_id} | _trace(d.headers)
        if what.notice:
            body = to_json(d.record)
            path = "/".join(quote(part, safe="") for part in (what.provider, what.event_id))
            url = f"{self.url.rstrip('/')}/{path}"
            return self._send("DELETE", url, body, headers, gone_ok=True)
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

    def _send(
        self, method: str, url: str, body: str, headers: dict[str, str], gone_ok: bool = False
    ) -> str:
        try:
            response = self._client.request(method, url, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            raise SinkUnavailable(f"{self.system} unreachable: {type(exc).__name__}") from exc
        status = response.status_code
        if 200 <= status < 300 or status == 409 or (gone_ok and status in (404, 410)):
            return datetime.now(UTC).isoformat()
        reason = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        if status in _TRANSIENT or status >= 500:
            raise SinkUnavailable(f"{self.system} answered {status}")
        raise DeliveryFailed(f"{self.system} refused it: HTTP {status} {reason}".strip())

    def close(self) -> None:
        self._client.close()


def _trace(headers: Mapping[str, bytes]) -> dict[str, str]:
    return {k: v.decode() for k, v in headers.items() if k in ("traceparent", "tracestate")}

"""Issue 18 at the HTTP push sink: an update is a POST carrying the revision and what it
withdraws; a retraction notice is a DELETE of the event's case, with the notice as body; a
404 on it means nothing was held (delivered). The recipient API is behind httpx's transport
seam (an in-memory API that keeps one case per event and honours the revision order)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from connectors.base.sink import Delivery
from connectors.sinks.http_push import HttpPushWriter
from tests.connectors.conftest import Stream

EVENT = "c0a2e1d0-0000-4000-8000-0000000000c1"
MASH = Stream("liverpool-mash", "safeguarding-concern", "police-liverpool-mash@v1")


class CaseApi:
    """Cases by (provider, event id): a POST applies only above the held revision, a DELETE
    leaves a tombstone that only a higher revision replaces."""

    def __init__(self) -> None:
        self.cases: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.calls.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            key = (body["provider"], body["event_id"])
            held = self.cases.get(key)
            if held is None or (body["revision"], 0) > held["rank"]:
                self.cases[key] = {"rank": (body["revision"], 0), "record": body["record"]}
            return httpx.Response(201)
        _, _, provider, event_id = request.url.path.split("/")
        key = (provider, event_id)
        if key not in self.cases:
            return httpx.Response(404, text="no such case")
        if (body["revision"], 1) > self.cases[key]["rank"]:
            self.cases[key] = {"rank": (body["revision"], 1), "tombstone": body["reason_code"]}
        return httpx.Response(204)


def share(revision: int, disclosure: str, name: str) -> Delivery:
    headers = {"hub.provider": b"merseyside-police", "hub.revision": str(revision).encode()}
    if revision > 1:
        headers["hub.withdraws"] = b"d1"
    return MASH.delivery(
        disclosure, {"envelope": {"event_id": EVENT}, "name": name}, headers=headers
    )


def notice(revision: int, event_id: str = EVENT) -> Delivery:
    record = {
        "notice_id": "n1",
        "event_id": event_id,
        "event_type": "safeguarding-concern",
        "provider": "merseyside-police",
        "revision": revision,
        "reason_code": "WRONG_PERSON",
        "reason": "retracted",
        "withdraws": "d2",
        "issued_at": "2026-11-23T12:00:00+00:00",
    }
    return MASH.delivery("n1", record, headers={"hub.notice": b"retraction"})


def test_updates_in_any_order_and_a_retraction_reach_the_api() -> None:
    api = CaseApi()
    writer = HttpPushWriter("http://mash.test/cases", "mash", transport=httpx.MockTransport(api))
    outcomes = writer.write([share(2, "d2", "corrected"), share(1, "d1", "original")])
    assert [o.status for o in outcomes] == ["delivered", "delivered"]
    key = ("merseyside-police", EVENT)
    assert api.cases[key]["record"]["name"] == "corrected", "a late revision 1 never wins"
    [done] = writer.write([notice(2)])
    assert done.status == "delivered"
    assert api.cases[key] == {"rank": (2, 1), "tombstone": "WRONG_PERSON"}
    assert api.calls[-1] == f"DELETE /cases/merseyside-police/{EVENT}"
    # A notice for a case the API never had: nothing to delete, still receipted.
    [gone] = writer.write([notice(1, "c0a2e1d0-0000-4000-8000-0000000000ff")])
    assert gone.status == "delivered"
    writer.close()

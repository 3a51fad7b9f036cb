"""Issue 18 at the web hook, on the real broker and registry: PUT sends a correction of an
event (a revision above 1, the path's event id), DELETE publishes a signed event-retraction
whose id is derived from what it says (a retried DELETE is the same retraction)."""

from __future__ import annotations

import io
import json
from typing import Any

import fastavro
import httpx
import pytest

from connectors.sources.webhook import WebhookSource
from hub.broker import EmbeddedBroker, ensure_topics
from hub.catalogue import Catalogue, partner_topic
from tests.connectors.conftest import read_topic
from tests.connectors.sources.test_webhook import TOKENS, _event, receiver  # noqa: F401

pytestmark = pytest.mark.integration
FIRE, SWR = "merseyside-fire", "safe-and-well-referral"


def decode(catalogue: Catalogue, slug: str, value: bytes) -> dict[str, Any]:
    et = catalogue.get(slug)
    assert et is not None
    record = fastavro.schemaless_reader(io.BytesIO(value[5:]), et.parsed, None)
    assert isinstance(record, dict)
    return record


def test_put_corrects_and_delete_retracts(
    receiver: tuple[WebhookSource, dict[str, Any]],  # noqa: F811
    broker: EmbeddedBroker,
    catalogue: Catalogue,
) -> None:
    hook, _info = receiver
    ensure_topics(broker.bootstrap, [partner_topic(FIRE, "event-retraction")])
    fire = {"Authorization": f"Bearer {TOKENS[FIRE]}"}
    with httpx.Client(base_url=hook.url) as client:
        original = _event(catalogue, SWR, FIRE, 3)
        r = client.post(f"/v1/events/{SWR}", content=json.dumps(original), headers=fire)
        assert r.status_code == 202, r.text
        event_id = r.json()["event_id"]
        corrected = dict(original, envelope=dict(original["envelope"], revision=2))
        r = client.put(f"/v1/events/{SWR}/{event_id}", content=json.dumps(corrected), headers=fire)
        assert r.status_code == 202, r.text
        # A PUT that is not a correction, or names another event: refused, saying why.
        same = dict(original, envelope=dict(original["envelope"], revision=1))
        r = client.put(f"/v1/events/{SWR}/{event_id}", content=json.dumps(same), headers=fire)
        assert r.status_code == 422 and r.json()["field"] == "envelope.revision"
        other = "c0a2e1d0-0000-4000-8000-0000000000aa"
        r = client.put(f"/v1/events/{SWR}/{other}", content=json.dumps(corrected), headers=fire)
        assert r.status_code == 422 and r.json()["field"] == "envelope.event_id"
        why = json.dumps({"reason": "RAISED_IN_ERROR", "reason_text": "visit logged twice"})
        first = client.request("DELETE", f"/v1/events/{SWR}/{event_id}", content=why, headers=fire)
        again = client.request("DELETE", f"/v1/events/{SWR}/{event_id}", content=why, headers=fire)
        assert first.status_code == again.status_code == 202, first.text
        assert first.json()["event_id"] == again.json()["event_id"], "a retry: the same retraction"
        bad = json.dumps({"reason": "BECAUSE"})
        r = client.request("DELETE", f"/v1/events/{SWR}/{event_id}", content=bad, headers=fire)
        assert r.status_code == 422
        r = client.request("DELETE", f"/v1/events/{SWR}/{event_id}", content=why)
        assert r.status_code == 401
    revisions = [
        decode(catalogue, SWR, m.value())["envelope"]
        for m in read_topic(broker.bootstrap, partner_topic(FIRE, SWR), 10**6, timeout=5)
    ]
    assert [
        (str(e["event_id"]), e["revision"]) for e in revisions if str(e["event_id"]) == event_id
    ] == [
        (event_id, 1),
        (event_id, 2),
    ]
    retractions = [
        decode(catalogue, "event-retraction", m.value())
        for m in read_topic(broker.bootstrap, partner_topic(FIRE, "event-retraction"), 2)
    ]
    assert len(retractions) == 2
    assert {str(r["retracted_event_id"]) for r in retractions} == {event_id}
    assert {r["reason"] for r in retractions} == {"RAISED_IN_ERROR"}
    assert retractions[0]["envelope"]["source_partner"] == FIRE

"""HTTP push to a recipient API behind the real processor: transient failures are retried,
each disclosure is stored once under its Idempotency-Key, and a refusal becomes a failed
receipt with the API's reason while the rest of the stream goes on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from connectors.base.rejects import RejectLog
from tests.connectors.conftest import (
    Hub,
    for_mash,
    publish_shared,
    read_receipts,
    start_sink,
)
from tests.connectors.sinks.recipient_api import RecipientApi

pytestmark = pytest.mark.integration
MASH = "liverpool-mash"


def test_push_with_retries_idempotency_and_refusals(hub: Hub, tmp_path: Path) -> None:
    shared = publish_shared(hub, 300, 8, for_mash)
    refused = {shared[1]["envelope"]["event_id"]}
    with RecipientApi(token="api-token-for-tests", refuse_events=refused) as api:
        spec = {"type": "http-push", "url": api.url, "token_env": "MASH_API_TOKEN"}
        env = {"MASH_API_TOKEN": "api-token-for-tests"}
        sink = start_sink(hub, tmp_path, MASH, spec, len(shared), env).runner
        time.sleep(0.5)
    assert api.unauthorised == 0
    assert sink.counts.delivered == len(shared) - 1 and sink.counts.failed == 1
    stored = {b["record"]["envelope"]["event_id"] for b in api.stored.values()}
    assert stored == {e["envelope"]["event_id"] for e in shared} - refused
    for key, body in api.stored.items():
        assert body["disclosure_id"] == key and body["recipient"] == MASH
        assert body["record"]["subject"]["given_name"]  # identified, as the agreement allows
    assert sum(api.attempts.values()) >= len(shared) + 3  # the 503s were retried

    receipts = read_receipts(hub, len(shared))
    assert len(receipts) == len(shared)
    failed = [r for r in receipts if r.status == "failed"]
    assert len(failed) == 1 and failed[0].reason and "HTTP 400" in failed[0].reason
    assert "date of birth is required" in failed[0].reason
    assert failed[0].receipt_id == f"{failed[0].disclosure_id}:failed"
    assert {r.disclosure_id for r in receipts if r.status == "delivered"} == set(api.stored)
    rejects = RejectLog(tmp_path / "sink-state" / "rejects", f"{MASH}-sink").entries()
    assert [(r["code"], r["disclosure_id"]) for r in rejects] == [
        ("delivery-failed", failed[0].disclosure_id)
    ]

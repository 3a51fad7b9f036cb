"""The end-to-end slice on the real broker: police events reach the Liverpool MASH
identified and the Modern Slavery Network pseudonymised, every decision is audited,
malformed input is dead-lettered and the processor carries on.

Expected recipients are computed by a small, independent oracle written from the
agreements' plain-English terms, not by the engine under test.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from confluent_kafka import Consumer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.synthetic.police import PoliceFeed, malformed_records
from hub.broker import EmbeddedBroker
from hub.broker.client_config import consumer_config
from hub.catalogue import DEADLETTER_TOPIC, EventType, partner_topic, share_topic
from hub.identity import SigningKey
from hub.policy.facts import age_on
from tests.ingest import ingest
from tests.integration.helpers import POLICE, Pipeline, Workers, wait_for

pytestmark = pytest.mark.integration

MASH, MSN, KNOWSLEY = "liverpool-mash", "modern-slavery-network", "knowsley-mash"
CANDIDATES = (MASH, KNOWSLEY, MSN)  # every recipient an agreement names for police concerns
EXPLOITATION = {"CCE", "CSE", "COUNTY_LINES", "MODERN_SLAVERY"}
TOKEN = re.compile(r"tok\.[a-z0-9-]+\.[a-z0-9]+\.[a-z2-7]{40}")


def for_mash(e: dict[str, Any], borough: str = "LIVERPOOL") -> bool:
    dob: date | None = e["subject"]["date_of_birth"]
    child = dob is not None and age_on(dob, e["envelope"]["occurred_at"].date()) < 18
    return child and e["borough"] == borough and e["risk_level"] in ("MEDIUM", "HIGH")


def for_msn(e: dict[str, Any]) -> bool:
    return bool(e["concern_category"] in EXPLOITATION)


def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list[Any]:
    c = Consumer(consumer_config(bootstrap, f"reader-{topic}-{time.monotonic_ns()}"))
    c.subscribe([topic])
    out: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(out) < expected and time.monotonic() < deadline:
        out.extend(m for m in c.consume(500, 0.5) if m.error() is None)
    c.close()
    return out


@pytest.fixture(scope="module")
def run(module_pipeline: Callable[..., Pipeline], concern_type: EventType) -> dict[str, Any]:
    """Publish a known feed with malformed records mixed in, process it, sink it."""
    pipeline = module_pipeline("e2e")
    topic = partner_topic(POLICE, "safeguarding-concern")
    pipeline.create_topics(topic, *(share_topic(r, "safeguarding-concern") for r in CANDIDATES))
    publisher = pipeline.publisher(POLICE, concern_type)
    events = PoliceFeed(seed=2026).events(300)
    first = publisher.serialize(events[0])
    bad = [raw for _label, raw in malformed_records(int.from_bytes(first[1:5], "big"), first)]
    spoofed = PoliceFeed(seed=99).next_event()
    spoofed["envelope"]["source_partner"] = "wirral-mbc"
    sent = 0
    for i, e in enumerate(events):
        publisher.publish(e)
        sent += 1
        if i % 50 == 25 and bad:  # malformed records in the middle of good ones
            publisher.send_raw(bad.pop())
            sent += 1
    for raw in bad:
        publisher.send_raw(raw)
        sent += 1
    publisher.publish(spoofed)
    # Identity failures: unsigned, signed by a key that is not the police's, another partner.
    genuine = publisher.serialize(PoliceFeed(seed=98).next_event())
    impostor = SigningKey("merseyside-police/dev1", Ed25519PrivateKey.generate())
    publisher.send_raw(genuine, signer=None)
    publisher.send_raw(genuine, signer=impostor)
    publisher.send_raw(genuine, signer=pipeline.signer("wirral-mbc"))
    sent += 4
    publisher.close()

    audit = pipeline.audit_store()
    processor = pipeline.processor()
    sinks = pipeline.sinks(CANDIDATES)
    expected = {
        MASH: {e["envelope"]["event_id"] for e in events if for_mash(e)},
        KNOWSLEY: {e["envelope"]["event_id"] for e in events if for_mash(e, "KNOWSLEY")},
        MSN: {e["envelope"]["event_id"] for e in events if for_msn(e)},
    }
    workers = Workers()
    workers.start(lambda: processor.run(workers.stop, until=lambda s: s.consumed >= sent))
    workers.run_sinks(sinks.values())
    try:
        wait_for(lambda: processor.stats.consumed >= sent, 90, "processor to consume the feed")
        for r, s in sinks.items():
            wait_for(lambda s=s, r=r: s.count() >= len(expected[r]), 60, f"sink {r}")
        time.sleep(1.0)  # anything extra (a duplicate, an over-share) would arrive now
    finally:
        workers.join()
    workers.check()
    processor.close()
    ingest(pipeline.bootstrap, audit)
    result = {
        "events": events,
        "sent": sent,
        "malformed": sent - len(events),
        "expected": expected,
        "sinks": {r: s.records() for r, s in sinks.items()},
        "audit": audit.all_decisions(),
        "dead_letters": audit.all_dead_letters(),
        "stats": processor.stats,
        "topic": topic,
        "pipeline": pipeline,
    }
    for s in sinks.values():
        s.close()
    audit.close()
    return result


def test_each_recipient_gets_exactly_what_its_agreement_allows(run: dict[str, Any]) -> None:
    for recipient in CANDIDATES:
        got = [r["record"]["envelope"]["event_id"] for r in run["sinks"][recipient]]
        assert len(got) == len(set(got)), f"duplicate in {recipient} sink"
        assert set(got) == run["expected"][recipient], recipient
    assert run["expected"][MASH] and run["expected"][MSN]
    assert run["expected"][MASH] - run["expected"][MSN], "some MASH-only events expected"


def test_mash_receives_identified_records(run: dict[str, Any]) -> None:
    by_id = {e["envelope"]["event_id"]: e for e in run["events"]}
    for row in run["sinks"][MASH]:
        rec = row["record"]
        src = by_id[rec["envelope"]["event_id"]]
        assert rec["subject"]["given_name"] == src["subject"]["given_name"]
        assert rec["subject"]["postcode"] == src["subject"]["postcode"]
        assert rec["narrative"] == src["narrative"]
        assert row["agreement"] == "police-liverpool-mash@v1"


def test_msn_output_has_no_identifier_of_any_subject(
    run: dict[str, Any], broker: EmbeddedBroker
) -> None:
    expected_fields = {"envelope", "subject", "concern_category", "risk_level", "borough"}
    for row in run["sinks"][MSN]:
        rec = row["record"]
        assert set(rec) == expected_fields
        assert set(rec["subject"]) == {"token", "age_band", "postcode_district"}
        assert TOKEN.fullmatch(rec["subject"]["token"])
    secrets: set[str] = set()
    for e in run["events"]:
        s = e["subject"]
        secrets |= {s["given_name"], s["family_name"], s["address"], s["postcode"], e["narrative"]}
        secrets |= {v for v in (s["nhs_number"], s["pnc_id"], *s["aliases"]) if v}
        secrets.add(e["source_reference"])
        if s["date_of_birth"]:
            secrets.add(s["date_of_birth"].isoformat())
    sink_text = TOKEN.sub("", json.dumps(run["sinks"][MSN])).casefold()
    raw = read_topic(
        broker.bootstrap, share_topic(MSN, "safeguarding-concern"), len(run["sinks"][MSN])
    )
    raw_text = TOKEN.sub("", b"".join(m.value() for m in raw).decode("utf-8", "replace")).casefold()
    for secret in secrets:
        assert secret.casefold() not in sink_text, secret
        assert secret.casefold() not in raw_text, secret


def test_one_audit_decision_per_event_and_candidate(run: dict[str, Any]) -> None:
    audit = run["audit"]
    per_event = Counter((a["event_id"], a["recipient"]) for a in audit)
    assert all(n == 1 for n in per_event.values())
    valid_ids = {e["envelope"]["event_id"] for e in run["events"]}
    assert {eid for eid, _ in per_event} == valid_ids
    assert len(audit) == len(CANDIDATES) * len(valid_ids) == run["stats"].decisions
    for a in audit:
        assert a["agreement_id"] in ("police-liverpool-mash", "police-knowsley-mash", "police-msn")
        assert a["agreement_version"] == 1
        assert a["reason"]
        if a["outcome"] == "shared":
            assert a["disclosure_id"] and a["legal_basis"] and json.loads(a["gateways"])
            assert json.loads(a["fields"]), "shared fields and their clauses are recorded"
        else:
            assert a["disclosure_id"] is None and json.loads(a["fields"]) == {}
    shared = Counter(a["recipient"] for a in audit if a["outcome"] == "shared")
    assert shared == {r: len(run["expected"][r]) for r in CANDIDATES}


def test_malformed_input_is_dead_lettered_and_processing_continues(
    run: dict[str, Any], broker: EmbeddedBroker
) -> None:
    dead = run["dead_letters"]
    assert len(dead) == run["malformed"] == 10
    codes = Counter(d["reason_code"] for d in dead)
    assert codes == {
        "malformed": 5,
        "unknown-schema": 1,
        "partner-mismatch": 2,
        "unsigned": 1,
        "bad-signature": 1,
    }
    for d in dead:
        assert d["partner"] == "merseyside-police" and d["topic"] == run["topic"]
        assert d["offset"] >= 0 and d["reason"]
    records = read_topic(broker.bootstrap, DEADLETTER_TOPIC, len(dead))
    assert len(records) == len(dead)
    for m in records:
        headers = dict(m.headers())
        assert headers["hub.dlq.topic"].decode() == run["topic"]
        assert headers["hub.dlq.partner"].decode() == "merseyside-police"
        assert int(headers["hub.dlq.offset"]) >= 0 and headers["hub.dlq.reason"]


def test_redelivery_creates_no_second_record(run: dict[str, Any]) -> None:
    """Reprocess the whole topic with a fresh consumer group (a crash before commit, at its
    worst): the audit store and sinks are keyed by decision and disclosure id."""
    first: Pipeline = run["pipeline"]
    settings = first.settings.model_copy(update={"consumer_group": "hub-processor-replay"})
    pipeline = Pipeline(first.bootstrap, first.registry_url, settings)
    audit = pipeline.audit_store()
    before = audit.count_decisions()
    processor = pipeline.processor()
    processor.run(threading.Event(), until=lambda s: s.consumed >= run["sent"])
    processor.close()
    assert ingest(pipeline.bootstrap, audit) == 0, "a redelivered decision was stored twice"
    assert audit.count_decisions() == before
    sinks = pipeline.sinks(CANDIDATES)
    # The sinks' own group already committed the first copies; the replayed copies arrive now.
    for r, s in sinks.items():
        n = len(run["expected"][r])
        workers = Workers()
        until_caught_up = workers.start(
            lambda s=s, n=n: s.run(threading.Event(), until=lambda k: k.consumed >= n)
        )
        until_caught_up.join(60)
        workers.check()
        assert s.count() == len(run["expected"][r]), (
            "a redelivered disclosure created a second record"
        )
        s.close()
    audit.close()

"""Crash test: `hub process` is SIGKILLed several times while a signed police feed with
hostile records mixed in flows into the partner topic, and restarted each time. Afterwards
nothing valid is lost, nothing is duplicated in the audit or the sinks, nothing reaches a
sink or a recipient topic without a `shared` decision, and every hostile record is a dead
letter at its own offset. Duplicates on the recipient topics are allowed (at-least-once)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.base.publisher import PartnerPublisher
from connectors.synthetic.police import PoliceFeed, malformed_records
from hub.catalogue import EventType, partner_topic, share_topic
from hub.identity import SigningKey
from hub.identity.signing import sign
from tests.integration.checker import (
    Sent,
    SignedSender,
    SinkRow,
    TopicRecord,
    check,
    read_topics,
    sink_rows,
    topic_records,
)
from tests.integration.helpers import POLICE, Pipeline, Workers, wait_for
from tests.integration.services import HubProcess, wait_for_progress

pytestmark = pytest.mark.integration

CANDIDATES = ("liverpool-mash", "knowsley-mash", "modern-slavery-network")
VALID = 20_000
HOSTILE = 300
KILLS = 4
SEED = 20261123


@dataclass
class Record:
    value: bytes | None
    key: bytes
    valid_id: str | None
    label: str
    headers: list[tuple[str, bytes]] | None  # None: signed by the police


def feed(publisher: PartnerPublisher, wirral: SigningKey, topic: str) -> list[Record]:
    """20,000 valid events with 300 hostile records spread among them, in sending order
    (``wirral``: another partner's key, for records it signs)."""
    rng = random.Random(SEED)
    events = PoliceFeed(seed=SEED).events(VALID)
    valid = [
        Record(publisher.serialize(e), e["envelope"]["event_id"].encode(), None, "valid", None)
        for e in events
    ]
    for r, e in zip(valid, events, strict=True):
        r.valid_id = e["envelope"]["event_id"]
    first = valid[0].value
    assert first is not None
    schema_id = int.from_bytes(first[1:5], "big")
    malformed = malformed_records(schema_id, first, seed=SEED)
    impostor = SigningKey("merseyside-police/dev1", Ed25519PrivateKey.generate())
    spoofs = PoliceFeed(seed=SEED + 1)
    hostile: list[Record] = []
    for i in range(HOSTILE):
        key = f"hostile-{i}".encode()
        kind = i % 5
        genuine = publisher.serialize(spoofs.next_event())
        if kind == 0:  # malformed, but signed by the police
            label, value = malformed[i // 5 % len(malformed)]
            hostile.append(Record(value, key, None, label, None))
        elif kind == 1:
            hostile.append(Record(genuine, key, None, "unsigned", []))
        elif kind == 2:
            headers = sign(impostor, topic, key, genuine)
            hostile.append(Record(genuine, key, None, "wrongly signed", headers))
        elif kind == 3:
            headers = sign(wirral, topic, key, genuine)
            hostile.append(Record(genuine, key, None, "signed by another partner", headers))
        else:  # signed by the police, but claims to come from Wirral
            event = spoofs.next_event()
            event["envelope"]["source_partner"] = "wirral-mbc"
            hostile.append(Record(publisher.serialize(event), key, None, "spoofed source", None))
    records = list(valid)
    for h in hostile:
        records.insert(rng.randrange(len(records) + 1), h)
    return records


def publish(sender: SignedSender, records: list[Record], chunk: int = 600) -> None:
    """Paced, so the feed is still flowing while the processor is killed and restarted."""
    for start in range(0, len(records), chunk):
        for r in records[start : start + chunk]:
            sender.send(r.value, r.key, valid_id=r.valid_id, label=r.label, headers=r.headers)
        time.sleep(0.4)
    sender.flush()


def test_sigkill_loses_duplicates_and_overshares_nothing(
    pipeline: Pipeline, concern_type: EventType, hub_process: HubProcess
) -> None:
    started = time.monotonic()
    service = hub_process
    topic = partner_topic(POLICE, "safeguarding-concern")
    share = {r: share_topic(r, "safeguarding-concern") for r in CANDIDATES}
    pipeline.create_topics(topic, *share.values())
    publisher = pipeline.publisher(POLICE, concern_type)
    service.start()  # it joins the group while the feed is prepared
    records = feed(publisher, pipeline.signer("wirral-mbc"), topic)
    publisher.close()
    phases: list[str] = []

    def phase(name: str) -> None:
        phases.append(f"{name} {time.monotonic() - started:.1f}s")

    sender = SignedSender(pipeline.bootstrap, topic, pipeline.signer(POLICE))
    sinks = pipeline.sinks(CANDIDATES)
    workers = Workers()
    workers.run_sinks(sinks.values())
    publishing = workers.start(lambda: publish(sender, records), "publisher")

    audit = pipeline.audit_store()
    rng = random.Random(SEED)
    try:
        phase("feed ready")
        for _ in range(KILLS):
            wait_for_progress(audit, service)
            phase("progress")
            time.sleep(rng.uniform(0.1, 2.0))  # somewhere inside a batch, or between two
            service.kill()
            service.start()
            phase("restarted")
        publishing.join(90)
        phase("published")
        assert not publishing.is_alive(), "publisher did not finish"
        workers.check()
        sent = sender.sent
        assert len(sent.valid) == VALID and len(sent.hostile) == HOSTILE

        wait_for(
            lambda: (
                audit.count_decisions() >= len(CANDIDATES) * VALID
                and audit.count_dead_letters() >= HOSTILE
            ),
            150,
            lambda: (
                f"the drain: {audit.count_decisions()} decisions, "
                f"{audit.count_dead_letters()} dead letters"
            ),
            poll=0.2,
            check=lambda: _alive(service),
        )
        phase("drained")
        shared = {
            r: sum(
                1 for d in audit.all_decisions() if d["recipient"] == r and d["outcome"] == "shared"
            )
            for r in CANDIDATES
        }
        wait_for(
            lambda: all(sinks[r].count() >= n for r, n in shared.items()),
            60,
            "the sinks to catch up",
            poll=0.2,
            check=workers.check,
        )
        phase("sinks caught up")
        time.sleep(1.0)  # a duplicate or an over-share would arrive now
        code, _took = service.stop(timeout=30)
        assert code == 0, service.tail()
    finally:
        service.close()  # a failed assertion must not leave it running
        workers.join()
    workers.check()

    on_topics = read_topics(pipeline.bootstrap, list(share.values()))
    problems = check(
        sent=sender.sent,
        candidates=CANDIDATES,
        decisions=audit.all_decisions(),
        dead_letters=audit.all_dead_letters(),
        sinks={r: sink_rows(s) for r, s in sinks.items()},
        topics={r: topic_records(r, on_topics[share[r]]) for r in CANDIDATES},
    )
    phase("checked")
    assert not problems, problems
    assert all(shared.values()), shared
    for s in sinks.values():
        s.close()
    audit.close()
    print(
        f"\ncrash test: {VALID} valid + {HOSTILE} hostile, {KILLS} SIGKILLs, "
        f"{service.lives} starts, shared {shared}, "
        f"{sum(len(v) for v in on_topics.values())} records on recipient topics, "
        f"{time.monotonic() - started:.1f}s; phases: {', '.join(phases)}"
    )


def _alive(service: HubProcess) -> None:
    assert service.alive(), service.tail()


def test_the_checker_catches_each_kind_of_failure() -> None:
    """The checker is only as good as what it can catch: feed it each failure once."""
    t = "partner.merseyside-police.safeguarding-concern.v1"
    sent = Sent(valid={"e1": (t, 0, 0), "e2": (t, 0, 1)}, hostile={(t, 1, 0): "unsigned"})

    def decision(event: str, recipient: str, shared: bool) -> dict[str, Any]:
        return {
            "event_id": event,
            "recipient": recipient,
            "outcome": "shared" if shared else "withheld",
            "disclosure_id": f"{event}-{recipient}" if shared else None,
            "agreement_id": "a" if shared else None,
            "agreement_version": 1 if shared else None,
        }

    decisions = [decision(e, r, (e, r) == ("e1", "x")) for e in ("e1", "e2") for r in "xy"]
    dead = [{"topic": t, "partition": 1, "offset": 0, "reason_code": "unsigned", "reason": "r"}]
    good_sink = {"x": [SinkRow("e1-x", "e1", "a@v1")], "y": []}
    good_topic = {"x": [TopicRecord("x", "e1-x", "e1", "a@v1")] * 2, "y": []}  # dup allowed

    def run(**changes: Any) -> list[str]:
        args: dict[str, Any] = {
            "sent": sent,
            "candidates": "xy",
            "decisions": decisions,
            "dead_letters": dead,
            "sinks": good_sink,
            "topics": good_topic,
        }
        return check(**{**args, **changes})

    assert run() == []
    assert run(decisions=decisions[1:])  # a lost decision
    assert run(decisions=[*decisions, decisions[1]])  # a duplicated decision
    assert run(dead_letters=[])  # a hostile record not dead-lettered
    assert run(sinks={"x": [*good_sink["x"], SinkRow("e2-x", "e2", "a@v1")]})  # over-shared
    assert run(sinks={"x": [*good_sink["x"], SinkRow("e1-x2", "e1", "a@v1")]})  # duplicate
    assert run(sinks={"x": []})  # a shared disclosure missing from the sink
    assert run(topics={"y": [TopicRecord("y", "e1-y", "e1", "a@v1")]})  # over-shared on topic
    assert run(topics={"x": []})  # a shared disclosure never produced

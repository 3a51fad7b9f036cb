"""Promise, on the real broker: when the embedded broker restarts empty (memory storage, the
``hub demo`` default) and the audit store kept every decision, the processor rebuilds its
events ledger from the audit (hub/processor/ledger_seed.py) before it consumes. A correction
of an event shared before the restart still reaches the recipient that holds it (here a
retraction notice: revision 3 may no longer be shared with the MASH), a reused id with
other content is still refused, and a retracted event stays closed.

Two embedded brokers, one after the other, with one work folder (audit store, keys) and one
schema registry between them: the second broker knows nothing of the first run.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition

from connectors.base.mapping import coerce_event
from connectors.base.retraction import retraction_of
from hub.broker import EmbeddedBroker
from hub.catalogue import partner_topic, share_topic
from hub.catalogue.topics import EVENTS_TOPIC
from hub.config import Settings
from hub.processor.ledger import LedgerEntry
from tests.integration.helpers import Pipeline
from tests.integration.test_corrections import CONCERN, MASH, POLICE, RETRACTION, child

pytestmark = pytest.mark.integration

SHARED, CORRECTED, WITHDRAWN = (
    "c0a2e1d0-0000-4000-8000-0000000000d1",
    "c0a2e1d0-0000-4000-8000-0000000000d2",
    "c0a2e1d0-0000-4000-8000-0000000000d3",
)
TOPICS = (
    partner_topic(POLICE, CONCERN),
    partner_topic(POLICE, RETRACTION),
    EVENTS_TOPIC,
    share_topic(MASH, CONCERN),
)


def first_run(pipeline: Pipeline, catalogue: Any) -> None:
    """Three children shared with the MASH; one corrected (revision 2, still shared), one
    retracted; the audit ingested into the work folder's store."""
    pipeline.create_topics(*TOPICS)
    concerns = pipeline.publisher(POLICE, catalogue.get(CONCERN))
    retractions = pipeline.publisher(POLICE, catalogue.get(RETRACTION))
    try:
        for event_id in (SHARED, CORRECTED, WITHDRAWN):
            concerns.publish(child(event_id, 1))
        concerns.publish(child(CORRECTED, 2, dob=date(2012, 6, 1)))
        concerns.flush()
        withdrawn = retraction_of(POLICE, WITHDRAWN, "WRONG_PERSON")
        retractions.publish(coerce_event(retractions.event_type, withdrawn, POLICE))
        retractions.flush()
        pipeline.process(5)
    finally:
        concerns.close()
        retractions.close()
    audit = pipeline.audit()
    shared = {
        (d["event_id"], d["revision"]) for d in audit["decisions"] if d["outcome"] == "shared"
    }
    assert {(SHARED, 1), (CORRECTED, 2), (WITHDRAWN, 1)} <= shared


def after_restart(pipeline: Pipeline, catalogue: Any) -> dict[str, Any]:
    """On the empty broker: revision 3 of the corrected child (now 19: not for the MASH),
    the shared child's id reused with other content, and a revision of the retracted one."""
    pipeline.create_topics(*TOPICS)
    concerns = pipeline.publisher(POLICE, catalogue.get(CONCERN))
    try:
        concerns.publish(child(CORRECTED, 3, adult=True))
        reused = child(SHARED, 1, dob=date(2011, 2, 3))  # same id and revision, other child
        concerns.publish(reused)
        concerns.publish(child(WITHDRAWN, 2))
        concerns.flush()
        pipeline.process(3)
    finally:
        concerns.close()
    return pipeline.audit()


def ledger_topic(bootstrap: str) -> dict[str, LedgerEntry]:
    """What hub.events.v1 holds on ``bootstrap``: event id -> its last entry."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "ledger-rebuild-check",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    parts = consumer.list_topics(EVENTS_TOPIC, timeout=10).topics[EVENTS_TOPIC].partitions
    consumer.assign([TopicPartition(EVENTS_TOPIC, p, 0) for p in parts])
    pending, out = set(parts), {}
    try:
        while pending:
            msg = consumer.poll(10)
            assert msg is not None, "hub.events.v1 not read to its end"
            err = msg.error()
            if err is not None and err.code() == KafkaError._PARTITION_EOF:
                pending.discard(msg.partition())
            elif err is None:
                entry = LedgerEntry.from_json(msg.value() or b"")
                out[entry.event_id] = entry
    finally:
        consumer.close()
    return out


def test_after_the_broker_restarts_empty_corrections_and_reuse_are_decided_as_before(
    broker: EmbeddedBroker,
    fresh_broker: EmbeddedBroker,
    registry_url: str,
    tmp_path: Path,
    catalogue: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(
        data_dir=tmp_path, consumer_group="hub-processor-rebuild", ledger_rebuild="auto"
    )
    first_run(Pipeline(broker.bootstrap, registry_url, settings), catalogue)
    restarted = Pipeline(fresh_broker.bootstrap, registry_url, settings)
    with caplog.at_level(logging.INFO, "hub.processor.ledger"):
        audit = after_restart(restarted, catalogue)

    # The MASH held revision 2 of the corrected child: revision 3 withdraws it.
    mash = [d for d in audit["decisions"] if d["recipient"] == MASH and d["event_id"] == CORRECTED]
    update = next(d for d in mash if d["outcome"] == "shared" and d["revision"] == 2)
    [notice] = [d for d in mash if d["outcome"] == "retracted"]
    assert notice["revision"] == 3 and update["disclosure_id"] in notice["reason"]
    # The reused id is refused, the retracted event stays closed; nothing else is dead.
    dead = sorted(d["reason_code"] for d in audit["dead_letters"])
    assert dead == ["event-id-reused", "event-retracted"]
    assert len({d["content_digest"] for d in audit["decisions"] if d["event_id"] == SHARED}) == 1
    assert audit["conflicts"] == [] and audit["verify"].ok, audit["verify"].problems
    # The rebuild said so, and left its entries on the new broker's topic for the next start.
    assert any("rebuilt 3 entries from the audit store" in r.getMessage() for r in caplog.records)
    held = ledger_topic(fresh_broker.bootstrap)
    assert held[WITHDRAWN].retraction and held[WITHDRAWN].retraction["reason"] == "WRONG_PERSON"
    assert held[CORRECTED].revision == 3 and held[CORRECTED].reached
    assert held[CORRECTED].reached[MASH][1:] == [3, False]

"""The demo's corrections and retraction (issue 18), end to end: a Liverpool child's concern
corrected (a mistyped date of birth: an update at every recipient holding it) and another
withdrawn as about the wrong person (a retraction notice to each recipient it reached, whose
sink deletes the personal data and keeps a tombstone).

The retraction is sent once the hub has decided the event it withdraws (the event's entry on
``hub.events.v1``): partner topics are not ordered with one another, and a retraction that
arrives first closes the event id, so the event would be dead-lettered instead of shared and
withdrawn (correct, but not what the demo shows)."""

from __future__ import annotations

import copy
import logging
import threading
import time
import uuid
from datetime import date
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from connectors.base.mapping import coerce_event
from connectors.base.publisher import PartnerPublisher
from connectors.base.retraction import RETRACTION, retraction_of
from connectors.synthetic.police import EVENT_TYPE, PARTNER, PoliceFeed
from hub.audit.store import AuditStore
from hub.broker.admin import ensure_topics
from hub.catalogue.schemas import load_catalogue
from hub.catalogue.topics import EVENTS_TOPIC, partner_topic
from hub.config import Settings
from hub.errors import HubError
from hub.kafka.connection import KafkaConnection
from hub.processor.build import partner_keys
from hub.processor.ledger import ledger_key

log = logging.getLogger("hub.demo.corrections")
RECORDS = 4  # two originals, a correction, a retraction
_NS = uuid.UUID("0f4c3e2a-1b5d-4c6e-8f7a-9b0c1d2e3f41")


def _liverpool_child(feed: PoliceFeed, name: str) -> dict[str, Any]:
    event = feed.next_event()
    event["envelope"]["event_id"] = str(uuid.uuid5(_NS, name))
    event["subject"]["date_of_birth"] = date(2012, 5, 1)
    event.update(borough="LIVERPOOL", risk_level="HIGH", concern_category="COUNTY_LINES")
    return event


class Corrections:
    """Publishes the originals and the correction at once, the retraction when its event is
    decided (a thread: the processor runs meanwhile)."""

    def __init__(self, settings: Settings, bootstrap: str, registry_url: str, seed: int) -> None:
        self._settings, self._bootstrap, self._registry = settings, bootstrap, registry_url
        feed = PoliceFeed(seed=seed + 2000)
        self.corrected = _liverpool_child(feed, f"corrected-{seed}")
        self.withdrawn = _liverpool_child(feed, f"withdrawn-{seed}")
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._retract, name="demo-retraction", daemon=True)

    def start(self) -> int:
        ensure_topics(self._bootstrap, [partner_topic(PARTNER, RETRACTION)])
        revised = copy.deepcopy(self.corrected)
        revised["envelope"]["revision"] = 2
        revised["subject"]["date_of_birth"] = date(2012, 6, 1)  # the date was mistyped
        publisher = self._publisher(EVENT_TYPE)
        for event in (self.corrected, revised, self.withdrawn):
            publisher.publish(event)
        publisher.close()
        self._thread.start()
        return RECORDS

    def _publisher(self, slug: str) -> PartnerPublisher:
        event_type = load_catalogue(self._settings.schemas_dir).get(slug)
        if event_type is None:
            raise HubError(f"event type {slug} missing from {self._settings.schemas_dir}")
        return PartnerPublisher(
            partner=PARTNER,
            event_type=event_type,
            bootstrap=self._bootstrap,
            registry_url=self._registry,
            signer=partner_keys(self._settings).dev_signing_key(PARTNER),
        )

    def _retract(self) -> None:
        try:
            target = str(self.withdrawn["envelope"]["event_id"])
            if self._decided(target):
                log.info("demo: event %s decided; publishing its retraction", target)
                publisher = self._publisher(RETRACTION)
                data = retraction_of(PARTNER, target, "WRONG_PERSON")
                publisher.publish(coerce_event(publisher.event_type, data, PARTNER))
                publisher.close()
        except BaseException as exc:  # raised again by finish(); said now, or the run only
            # times out waiting for the retraction
            log.error("demo: the retraction could not be published: %s", exc)
            self.errors.append(exc)

    def _decided(self, event_id: str) -> bool:
        """Wait for the event's entry on the events ledger (the processor acknowledged it)."""
        wanted = ledger_key(PARTNER, event_id)
        kafka = KafkaConnection.from_settings(self._settings, self._bootstrap)
        # Read by assignment: the group only names the client, it never joins or commits.
        consumer = kafka.consumer("demo-retraction", **{"enable.auto.commit": False})
        try:
            assigned = False
            while not self.stop.is_set():
                if not assigned:
                    meta = consumer.list_topics(EVENTS_TOPIC, timeout=5).topics.get(EVENTS_TOPIC)
                    if meta is None or meta.error is not None or not meta.partitions:
                        time.sleep(0.5)
                        continue
                    consumer.assign(
                        [TopicPartition(EVENTS_TOPIC, p, OFFSET_BEGINNING) for p in meta.partitions]
                    )
                    assigned = True
                for msg in consumer.consume(500, 0.5):
                    if msg.error() is None and msg.key() == wanted:
                        return True
            return False
        finally:
            consumer.close()

    def finish(self) -> None:
        self.stop.set()
        self._thread.join(15)
        if self.errors:
            raise self.errors[0]


def counts(audit: AuditStore) -> dict[str, int]:
    """What the audit says of them: corrections shared, retraction notices, their receipts."""
    decisions = audit.all_decisions()
    notices = {d["disclosure_id"] for d in decisions if d["outcome"] == "retracted"}
    receipted = {
        r["disclosure_id"]
        for r in audit.all_receipts()
        if r["status"] == "delivered" and r["disclosure_id"] in notices
    }
    return {
        "corrections": sum(
            1 for d in decisions if d["outcome"] == "shared" and (d["revision"] or 1) > 1
        ),
        "retractions": len(notices),
        "retraction_receipts": len(receipted),
    }

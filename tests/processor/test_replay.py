"""A partner publishes before its key is registered: the record is dead-lettered as
unknown-signer; once the key is registered, replay re-publishes the original record and it is
decided and shared like any other."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from connectors.synthetic.police import PoliceFeed
from hub.audit.store import AuditStore
from hub.broker import EmbeddedBroker
from hub.catalogue import share_topic
from hub.config import Settings
from hub.identity import PartnerKeyStore
from hub.processor import build_processor
from hub.processor.replay import replay
from tests.ingest import ingest
from tests.plugin import HUB_TOPICS, POLICE, PolicePublisher

pytestmark = pytest.mark.integration


def process(settings: Settings, bootstrap: str, registry: str, audit: AuditStore, n: int) -> None:
    processor = build_processor(settings, bootstrap=bootstrap, registry_url=registry)
    processor.run(threading.Event(), until=lambda s: s.consumed >= n)
    processor.close()
    ingest(bootstrap, audit)


def test_replay_after_the_partner_key_is_registered(
    tmp_path: Path, broker: EmbeddedBroker, registry_url: str, police_publisher: PolicePublisher
) -> None:
    settings = Settings(data_dir=tmp_path / "hub")
    audit = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    partner_side = PartnerKeyStore(None, tmp_path / "police-own-keys")
    event = PoliceFeed(seed=4).next_event()
    event.update(concern_category="CCE")  # the MSN agreement shares every CCE concern
    msn = share_topic("modern-slavery-network", "safeguarding-concern")
    publisher = police_publisher(partner_side.dev_signing_key(POLICE), [*HUB_TOPICS, msn])
    publisher.publish(event)
    publisher.close()
    process(settings, broker.bootstrap, registry_url, audit, 1)
    [dead] = audit.all_dead_letters()
    assert dead["reason_code"] == "unknown-signer" and audit.count_decisions() == 0

    # The operators register the partner's public key; the partner asks for a replay.
    registered = settings.data_dir / "partner-keys"
    registered.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / "police-own-keys" / "merseyside-police.dev1.pub", registered)
    done = replay(broker.bootstrap, lambda d: d.partner == "merseyside-police")
    assert [(d.reason_code, d.offset) for d in done] == [("unknown-signer", dead["offset"])]
    process(settings, broker.bootstrap, registry_url, audit, 1)
    decisions = audit.decisions_for_event(event["envelope"]["event_id"])
    assert {d["recipient"]: d["outcome"] for d in decisions}["modern-slavery-network"] == "shared"
    assert len(audit.all_dead_letters()) == 1, "the replayed record was not dead-lettered again"
    audit.close()

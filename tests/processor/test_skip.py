"""``hub deadletter skip``: the operator's last resort records what it skipped (a dead
letter by reference, audited) before the processor group moves past it, and skips only
the record it names."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition

from hub.audit.store import AuditStore
from hub.broker import EmbeddedBroker, ensure_topics
from hub.catalogue import AUDIT_TOPIC, DEADLETTER_TOPIC, partner_topic
from hub.cli.main import main
from hub.config import Settings
from hub.identity.signing import sign
from hub.kafka import KafkaConnection, headers_bytes
from hub.processor.build import partner_keys
from tests.ingest import ingest
from tests.integration.checker import read_topics

pytestmark = pytest.mark.integration

TOPIC = partner_topic("merseyside-police", "safeguarding-concern")
GROUP = "hub-processor-skip-test"


def test_skip_records_an_audited_dead_letter_by_reference_then_commits_past_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path, consumer_group=GROUP)
    with EmbeddedBroker() as broker:
        kafka = KafkaConnection(broker.bootstrap)
        ensure_topics(kafka, [TOPIC, DEADLETTER_TOPIC, AUDIT_TOPIC], partitions=1)
        police = partner_keys(settings).dev_signing_key("merseyside-police")
        producer = kafka.producer()
        stuck = b"\x00 a record the processor cannot get past"
        for value in (b"first", stuck, b"third"):
            producer.produce(TOPIC, value, None, sign(police, TOPIC, None, value))
        producer.flush_or_raise()
        # The processor group has handled offset 0 and stops on offset 1.
        group = kafka.consumer(GROUP)
        group.commit(offsets=[TopicPartition(TOPIC, 0, 1)], asynchronous=False)
        group.close()

        monkeypatch.setenv("HUB_BOOTSTRAP_SERVERS", broker.bootstrap)
        monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("HUB_CONSUMER_GROUP", GROUP)
        base = ["deadletter", "skip", "--topic", TOPIC, "--partition", "0"]
        # Not the record the group reads next: refused, nothing recorded or moved.
        assert main([*base, "--offset", "2", "--operator", "ops-1"]) == 2
        assert "also skip offsets 1..1" in capfd.readouterr().err
        assert main([*base, "--offset", "1", "--operator", "ops-1"]) == 0
        assert "by reference" in capfd.readouterr().out

        check = kafka.consumer(GROUP)
        [tp] = check.committed([TopicPartition(TOPIC, 0)], timeout=10)
        check.close()
        assert tp.offset == 2  # past the skipped record, and only past it

        [letter] = read_topics(broker.bootstrap, [DEADLETTER_TOPIC])[DEADLETTER_TOPIC]
        reference = json.loads(letter.value() or b"")
        assert headers_bytes(letter)["hub.dlq.reason_code"] == b"operator-skipped"
        assert (reference["topic"], reference["partition"], reference["offset"]) == (TOPIC, 0, 1)
        assert reference["sha256"] == hashlib.sha256(stuck).hexdigest()
        assert reference["signer"] == "merseyside-police"

        audit = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
        ingest(broker.bootstrap, audit)
        [stored] = audit.all_dead_letters()
        assert stored["reason_code"] == "operator-skipped" and "ops-1" in stored["reason"]
        assert reference["sha256"] in stored["reason"]
        audit.close()

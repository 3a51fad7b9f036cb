"""The analytics intake admits exactly what the processor admits (hub/codec/admission.py):
a record the processor would dead-letter is skipped here, never read into the analytics."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Any

import fastavro
import pytest

from hub.analytics.core import Intake
from hub.analytics.intake import IntakeLoop
from hub.analytics.rules import load_rules
from hub.catalogue import EventType, partner_topic
from hub.codec.schemas import SchemaCache
from hub.identity import PartnerKeyStore, sign
from hub.kafka import KafkaConnection
from hub.privacy.keys import PseudonymKey
from tests.analytics import builders as b
from tests.analytics.builders import CHILD, T0
from tests.processor.stubs import FakeMessage, FakeRegistry

POLICE = "merseyside-police"
MISSING_TOPIC = partner_topic(POLICE, "missing-episode")


class Reader:
    """One intake loop over a registry holding every catalogue schema, with real keys."""

    def __init__(self, tmp_path: Path) -> None:
        self.partners = PartnerKeyStore(None, tmp_path / "partner-keys")
        self.signers = {p: self.partners.dev_signing_key(p) for p in (POLICE, "sefton-mbc")}
        self.registry = FakeRegistry()
        types = b.catalogue().event_types.values()
        self.ids = {et.slug: self.registry.add(et.schema) for et in types}
        self.read: list[bool] = []
        self.loop = IntakeLoop(
            bootstrap=KafkaConnection("127.0.0.1:9"),  # never connected: records are handed in
            topics=[MISSING_TOPIC],
            internal_topic="obs",
            intake=Intake(
                load_rules(b.ROOT / "partnership" / "alerts"),
                PseudonymKey("analytics", "k1", b"k" * 32),
                PseudonymKey("audit", "k1", b"a" * 32),
            ),
            schemas=SchemaCache(self.registry, b.catalogue()),  # type: ignore[arg-type]
            public_keys=self.partners.public_keys(),
            group="test-intake",
            on_read=self.read.append,
        )

    def record(self, topic: str, et: EventType, event: dict[str, Any], signer: str) -> Any:
        buf = io.BytesIO()
        buf.write(struct.pack(">bI", 0, self.ids[et.slug]))
        fastavro.schemaless_writer(buf, et.parsed, event)
        value = buf.getvalue()
        return FakeMessage(topic, 0, 7, value, None, sign(self.signers[signer], topic, None, value))


@pytest.fixture
def reader(tmp_path: Path) -> Reader:
    return Reader(tmp_path)


def test_a_record_on_its_own_topic_is_read(reader: Reader) -> None:
    missing = b.event_type("missing-episode")
    msg = reader.record(MISSING_TOPIC, missing, b.missing(CHILD, T0), POLICE)
    out = reader.loop._messages(msg)
    assert reader.read == [True]
    assert out and all(m["source"] == f"{MISSING_TOPIC}|0|7" for m in out)


@pytest.mark.parametrize(
    "case",
    ["schema of another event type", "signed by another partner", "claims another partner"],
)
def test_what_the_processor_dead_letters_is_skipped(reader: Reader, case: str) -> None:
    missing, concern = b.event_type("missing-episode"), b.event_type("safeguarding-concern")
    if case == "schema of another event type":
        # Signed by the topic's owner and claiming it: only the event type is wrong. The
        # intake used to read this one as a safeguarding concern.
        msg = reader.record(MISSING_TOPIC, concern, b.concern(CHILD, T0, POLICE), POLICE)
    elif case == "signed by another partner":
        msg = reader.record(MISSING_TOPIC, missing, b.missing(CHILD, T0), "sefton-mbc")
    else:
        msg = reader.record(MISSING_TOPIC, missing, b.missing(CHILD, T0, "sefton-mbc"), POLICE)
    assert reader.loop._messages(msg) == []
    assert reader.read == [False]

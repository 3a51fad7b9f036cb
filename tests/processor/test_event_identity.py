"""Promise (issue 15 item 1): every record that reaches a recipient has exactly one decision in
the audit that matches what was sent, whatever partners resend, reuse or the processor
redelivers after a crash.

Real components throughout except the broker: the processor's record handling and batch
logic, the audit ingester's parsing and the AuditStore on SQLite, and the recipients' real
SQL upsert sink (connectors/sinks/sql_upsert.py) with receipts as the sink runner makes them.
The broker is the stub clients of tests/processor/stubs.py: what a producer flushed is what
the broker acknowledged; a crash loses the rest.
"""

from __future__ import annotations

import copy
import io
import json
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base.sink import Delivery, Outcome
from connectors.sinks.sql_upsert import SqlUpsertWriter
from connectors.synthetic.samples import SampleGenerator
from hub.agreements import Agreement
from hub.audit.ingest import parse, store_records
from hub.audit.records import KIND_HEADER, ReceiptRecord
from hub.audit.store import AuditStore
from hub.audit.verify import verify_store
from hub.catalogue import AUDIT_TOPIC, DEADLETTER_TOPIC, EventType
from hub.catalogue.topics import EVENTS_TOPIC, partner_topic
from hub.codec.schemas import SchemaCache
from hub.errors import BrokerUnavailable
from hub.identity import PartnerKeyStore, sign
from hub.policy import PolicyEngine
from hub.policy.facts import event_time
from hub.privacy import Transformer
from hub.privacy.keys import LocalKeyProvider
from hub.processor import Processor
from hub.processor.ledger import EventLedger, content_digest
from tests.processor.conftest import NOW, county_lines_child, encode
from tests.processor.stubs import FakeConsumer, FakeMessage, FakeProducer, FakeRegistry

POLICE, FIRE = "merseyside-police", "merseyside-fire"
EVENT_IDS = [
    "a7e3c9f0-1111-4aaa-8bbb-000000000001",
    "a7e3c9f0-1111-4aaa-8bbb-000000000002",
    "a7e3c9f0-1111-4aaa-8bbb-000000000003",
]


class CrashingConsumer(FakeConsumer):
    """Crashes at the commit: the batch's outputs are acknowledged, its offsets are not."""

    crash_at_commit = False

    def commit(self, offsets: list[Any], asynchronous: bool = False) -> None:
        if self.crash_at_commit:
            raise RuntimeError("killed between the flush and the commit")
        super().commit(offsets, asynchronous)


class World:
    """Partner topics (one partition each), processors that crash and restart with the
    events ledger as the broker holds it, the audit store and the recipients' sinks."""

    def __init__(
        self,
        tmp: Path,
        catalogue: Any,
        agreements: list[Agreement],
        keys: LocalKeyProvider,
    ) -> None:
        self.tmp = tmp
        self.catalogue = catalogue
        self.agreements = agreements
        self.keys = keys
        self.registry = FakeRegistry()
        self.types: dict[str, EventType] = {
            POLICE: catalogue.get("safeguarding-concern"),
            FIRE: catalogue.get("safe-and-well-referral"),
        }
        self.schema_ids = {p: self.registry.add(t.schema) for p, t in self.types.items()}
        partners = PartnerKeyStore(None, tmp / "partner-keys")
        self.signers = {p: partners.dev_signing_key(p) for p in self.types}
        self.public_keys = partners.public_keys()
        self.log: list[FakeMessage] = []
        self.events: dict[tuple[str, int], dict[str, Any]] = {}  # input coordinates -> event
        self.committed: dict[str, int] = {}
        self.durable: list[dict[str, Any]] = []  # every record the broker acknowledged
        self.restarts = 0
        self._start()

    # -- the partner side ---------------------------------------------------------------

    def send(self, provider: str, event: dict[str, Any]) -> None:
        self.publish(provider, self.types[provider], self.schema_ids[provider], event)

    def publish(self, provider: str, et: EventType, schema_id: int, event: dict[str, Any]) -> None:
        """``event`` signed by ``provider`` at the end of its topic for ``et``."""
        topic = partner_topic(provider, et.slug)
        offset = sum(1 for m in self.log if m.topic() == topic)
        value = encode(schema_id, et, event)
        self.log.append(
            FakeMessage(
                topic, 0, offset, value, None, sign(self.signers[provider], topic, None, value)
            )
        )
        # What the hub decodes (not the dict before encoding): the digest is of that.
        decoded = fastavro.schemaless_reader(io.BytesIO(value[5:]), et.parsed, None)
        assert isinstance(decoded, dict)
        self.events[(topic, offset)] = decoded

    # -- the processor side ---------------------------------------------------------------

    def _start(self) -> None:
        self.consumer, self.producer = CrashingConsumer(), FakeProducer()
        entries = [(r["key"], r["value"]) for r in self.durable if r["topic"] == EVENTS_TOPIC]

        class Loaded:
            def initial(self) -> Iterable[tuple[bytes | None, bytes | None]]:
                return entries

            def more(self) -> Iterable[tuple[bytes | None, bytes | None]]:
                return []

        self.processor = Processor(
            consumer=self.consumer,  # type: ignore[arg-type]
            producer=self.producer,  # type: ignore[arg-type]
            schemas=SchemaCache(self.registry, self.catalogue),  # type: ignore[arg-type]
            engine=PolicyEngine(self.agreements),
            transformer=Transformer(self.keys),
            instance=f"test-{self.restarts}",
            public_keys=self.public_keys,
            clock=lambda: NOW,
            ledger=EventLedger(Loaded()),
        )

    def _restart(self) -> None:
        self.durable.extend(self.producer.produced)  # acknowledged before the crash
        self.restarts += 1
        self._start()

    def uncommitted(self) -> list[FakeMessage]:
        return [m for m in self.log if m.offset() >= self.committed.get(m.topic(), 0)]

    def batch(self, size: int, crash: str | None = None) -> None:
        """Process the next ``size`` uncommitted records; ``crash``: "before-flush" (nothing
        acknowledged, the process restarts), "retry" (nothing acknowledged, the same process
        tries again) or "after-flush" (outputs acknowledged, offsets not committed)."""
        messages = self.uncommitted()[:size]
        if not messages:
            return
        if crash == "before-flush":
            self.producer.undelivered = 1
            with pytest.raises(BrokerUnavailable):
                self.processor.process_batch(messages)  # type: ignore[arg-type]
            self.producer.pending.clear()  # lost with the process
            self._restart()
            return
        if crash == "retry":
            # The batch fails before the flush and this process retries it (a lost broker,
            # hub/outage.py): no restart, so the instance's memory outlives the lost batch.
            self.producer.undelivered = 1
            with pytest.raises(BrokerUnavailable):
                self.processor.process_batch(messages)  # type: ignore[arg-type]
            self.producer.pending.clear()
            self.producer.undelivered = 0
            return
        if crash == "after-flush":
            self.consumer.crash_at_commit = True
            with pytest.raises(RuntimeError, match="killed"):
                self.processor.process_batch(messages)  # type: ignore[arg-type]
            self._restart()
            return
        self.processor.process_batch(messages)  # type: ignore[arg-type]
        for tp in self.consumer.commits[-1]:
            self.committed[tp.topic] = tp.offset

    def drain(self) -> None:
        while self.uncommitted():
            self.batch(1000)
        self.durable.extend(self.producer.produced)
        self.producer.produced.clear()

    # -- downstream: the audit ingester and the recipients' sinks ---------------------------

    @contextmanager
    def audit(self) -> Iterator[AuditStore]:
        """The audit store (SQLite in the world's folder), closed after the block."""
        store = AuditStore(f"sqlite:///{self.tmp / 'audit.db'}")
        try:
            yield store
        finally:
            store.close()

    def ingest(self, store: AuditStore) -> None:
        records = [
            r
            for p in self.durable
            if p["topic"] == AUDIT_TOPIC
            for r in parse(AUDIT_TOPIC, p["value"], p["headers"][KIND_HEADER].decode())
        ]
        store_records(store, records)

    def sink_url(self, recipient: str) -> str:
        return f"sqlite:///{self.tmp / f'sink-{recipient}.db'}"

    def delivery(self, offset: int, p: dict[str, Any], with_headers: bool = False) -> Delivery:
        """An acknowledged output as the sink runner hands it to a sink: the Avro value
        decoded with its registered schema; ``with_headers``: the hub.* headers too."""
        h = p["headers"]
        schema_id = int.from_bytes(p["value"][1:5], "big")
        schema = fastavro.parse_schema(json.loads(self.registry.schemas[schema_id]))
        record = fastavro.schemaless_reader(io.BytesIO(p["value"][5:]), schema, None)
        assert isinstance(record, dict)
        return Delivery(
            disclosure_id=h["hub.disclosure_id"].decode(),
            recipient=h["hub.recipient"].decode(),
            event_id=h["hub.event_id"].decode(),
            event_type=p["topic"].split(".")[2],
            agreement=h["hub.agreement"].decode(),
            topic=p["topic"],
            partition=0,
            offset=offset,
            record=record,
            received_at=datetime.now(UTC),
            headers={k: v for k, v in h.items() if k.startswith("hub.")} if with_headers else {},
        )

    def sinks(
        self,
        store: AuditStore,
        order: random.Random | None = None,
        on_retraction: str = "delete",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        with_headers: bool = True,
    ) -> dict[str, SqlUpsertWriter]:
        """Every acknowledged output into its recipient's SQL sink (redeliveries included),
        in any order when ``order`` says so (records keyed by disclosure id sit on different
        partitions), each then twice now and again, and a receipt per outcome into the
        audit, as the sink runner does. The caller closes the writers."""
        outputs = [(i, p) for i, p in enumerate(self.durable) if p["topic"].startswith("share.")]
        if order is not None:
            outputs = outputs + [o for o in outputs if order.random() < 0.3]
            order.shuffle(outputs)
        writers: dict[str, SqlUpsertWriter] = {}
        for offset, p in outputs:
            delivery = self.delivery(offset, p, with_headers)
            recipient = delivery.recipient
            if recipient not in writers:
                writers[recipient] = SqlUpsertWriter(
                    self.sink_url(recipient),
                    "mash_referrals",
                    recipient,
                    on_retraction=on_retraction,
                    clock=clock,
                )
            [outcome] = writers[recipient].write([delivery])
            assert outcome.status == "delivered", outcome.reason
            store.write_receipts([receipt(outcome, recipient, writers[recipient].system)])
        return writers

    def deliver(self, store: AuditStore) -> dict[str, list[dict[str, Any]]]:
        """:meth:`sinks` in log order without the hub.* headers: the rows each then holds."""
        writers = self.sinks(store, with_headers=False)
        rows = {r: w.rows() for r, w in writers.items()}
        for w in writers.values():
            w.close()
        return rows


def receipt(outcome: Outcome, recipient: str, system: str) -> ReceiptRecord:
    """The audit's receipt of a sink's outcome, as the sink runner writes it."""
    return ReceiptRecord(
        f"{outcome.disclosure_id}:{outcome.status}",
        outcome.disclosure_id,
        recipient,
        system,
        outcome.status,
        outcome.at,
        outcome.reason,
    )


def police_event(event_id: str, variant: int) -> dict[str, Any]:
    """The Liverpool child: variant 0 at LOW risk (withheld from the Liverpool MASH),
    1 at HIGH risk (shared), 2 the same as 0 written with another schema_version."""
    event = county_lines_child()
    event["envelope"]["event_id"] = event_id
    event["envelope"]["recorded_at"] = event["envelope"]["occurred_at"]
    event["risk_level"] = "HIGH" if variant == 1 else "LOW"
    if variant == 2:
        event["envelope"]["schema_version"] = 2
    return event


_FIRE_BASE: dict[str, Any] = {}


def fire_event(fire_type: EventType, event_id: str, variant: int) -> dict[str, Any]:
    """A safe-and-well referral in Liverpool: variant 1 without the occupier's consent
    (withheld), else with it (shared with the Liverpool MASH)."""
    if not _FIRE_BASE:
        _FIRE_BASE.update(SampleGenerator(fire_type, FIRE, seed=7).next_event())
    event = copy.deepcopy(_FIRE_BASE)
    event["envelope"]["event_id"] = event_id
    event["borough"] = "LIVERPOOL"
    event["occupier_consent"] = variant != 1
    if variant == 2:
        event["envelope"]["schema_version"] = 2
    return event


def check_promise(world: World, store: AuditStore) -> dict[str, Any]:
    """The set of (sink row, receipt) pairs equals the set of shared decisions, exactly; each
    decision matches the content it was decided on; every reused id is dead-lettered."""
    world.ingest(store)
    rows = world.deliver(store)
    decisions = store.all_decisions()
    shared = {d["disclosure_id"]: d for d in decisions if d["outcome"] == "shared"}
    receipts = {r["disclosure_id"] for r in store.all_receipts() if r["status"] == "delivered"}
    sink = {row["disclosure_id"]: (recipient, row) for recipient, rs in rows.items() for row in rs}
    pairs = {(d, d) for d in sink if d in receipts}
    assert pairs == {(d, d) for d in shared}
    assert set(sink) == set(receipts) == set(shared)
    for disclosure, (recipient, row) in sink.items():
        d = shared[disclosure]
        assert (d["recipient"], d["event_id"]) == (recipient, row["event_id"])
        assert row["agreement"] == f"{d['agreement_id']}@v{d['agreement_version']}"
    # Each decision matches what it was decided on: the digest of the input at its source.
    for d in decisions:
        event = world.events[(d["source_topic"], d["source_offset"])]
        assert d["content_digest"] == content_digest(event)
        # ... and says when it happened (the event time), not only when it was decided.
        happened = event_time(event, world.catalogue.get(d["event_type"]))
        assert happened is not None and d["occurred_at"] == happened.astimezone(UTC).isoformat()
        assert d["provider"] == d["source_topic"].split(".")[1]
    # The model: in log order, the first content of each (provider, event id) is the event;
    # later records with other content are event-id-reused dead letters, never decided.
    first: dict[tuple[str, str], str] = {}
    reused: set[tuple[str, int]] = set()
    for m in world.log:
        event = world.events[(m.topic(), m.offset())]
        key = (m.topic().split(".")[1], str(event["envelope"]["event_id"]))
        digest = first.setdefault(key, content_digest(event))
        if digest != content_digest(event):
            reused.add((m.topic(), m.offset()))
    dead = {(r["topic"], r["offset"]): r["reason_code"] for r in store.all_dead_letters()}
    assert dead == {coordinates: "event-id-reused" for coordinates in reused}
    assert {(d["provider"], d["event_id"], d["content_digest"]) for d in decisions} == {
        (p, e, digest) for (p, e), digest in first.items()
    }
    assert store.conflicts() == [] and store.events_with_several_contents() == []
    report = verify_store(store, {})
    assert report.ok, report.problems
    return {"shared": len(shared), "dead": len(dead), "decisions": len(decisions)}


# -- the reported cases, one by one -----------------------------------------------------------


@pytest.fixture
def world(
    tmp_path: Path, catalogue: Any, reference_agreements: list[Agreement], keys: Any
) -> World:
    return World(tmp_path, catalogue, reference_agreements, keys)


def test_liverpool_child_resent_at_high_risk_under_a_reused_id_is_dead_lettered(
    world: World, store: AuditStore
) -> None:
    world.send(POLICE, police_event(EVENT_IDS[0], 0))
    world.batch(10)
    world.send(POLICE, police_event(EVENT_IDS[0], 1))  # same id, HIGH risk
    world.drain()
    [dead] = [p for p in world.durable if p["topic"] == DEADLETTER_TOPIC]
    assert dead["headers"]["hub.dlq.reason_code"] == b"event-id-reused"
    assert b"revision" in dead["headers"]["hub.dlq.fix"]
    assert not [
        p for p in world.durable if p["topic"] == "share.liverpool-mash.safeguarding-concern.v1"
    ]
    counts = check_promise(world, store)
    [mash] = [d for d in store.all_decisions() if d["recipient"] == "liverpool-mash"]
    assert mash["outcome"] == "withheld", "the audit says what was (not) sent"
    assert counts["dead"] == 1


def test_fire_record_reusing_a_police_event_id_is_its_own_event(
    world: World, store: AuditStore
) -> None:
    world.send(POLICE, police_event(EVENT_IDS[0], 1))
    fire = fire_event(world.types[FIRE], EVENT_IDS[0], 0)
    world.send(FIRE, fire)
    world.drain()
    counts = check_promise(world, store)
    by_provider = {(d["provider"], d["recipient"]): d for d in store.all_decisions()}
    police_mash = by_provider[(POLICE, "liverpool-mash")]
    fire_mash = by_provider[(FIRE, "liverpool-mash")]
    assert police_mash["outcome"] == fire_mash["outcome"] == "shared"
    assert police_mash["decision_id"] != fire_mash["decision_id"]
    assert police_mash["disclosure_id"] != fire_mash["disclosure_id"]
    assert counts["dead"] == 0


def test_same_event_under_another_schema_version_is_a_duplicate(
    world: World, store: AuditStore
) -> None:
    world.send(POLICE, police_event(EVENT_IDS[0], 0))
    world.send(POLICE, police_event(EVENT_IDS[0], 2))
    world.drain()
    counts = check_promise(world, store)
    assert counts["dead"] == 0 and counts["decisions"] == 3  # one decision per candidate


def test_reuse_is_recognised_after_a_restart(world: World, store: AuditStore) -> None:
    world.send(POLICE, police_event(EVENT_IDS[0], 1))
    world.drain()
    world._restart()  # a new instance, knowing only what hub.events.v1 holds
    world.send(POLICE, police_event(EVENT_IDS[0], 0))
    world.send(POLICE, police_event(EVENT_IDS[0], 1))  # a plain duplicate: decided again
    world.drain()
    assert check_promise(world, store)["dead"] == 1


def test_a_batch_redelivered_after_its_ledger_entries_were_acknowledged_is_a_redelivery(
    world: World, store: AuditStore
) -> None:
    world.send(POLICE, police_event(EVENT_IDS[0], 1))
    world.send(FIRE, fire_event(world.types[FIRE], EVENT_IDS[1], 0))
    world.batch(10, crash="after-flush")
    assert [p for p in world.durable if p["topic"] == EVENTS_TOPIC], "entries acknowledged"
    world.drain()
    counts = check_promise(world, store)
    assert counts["dead"] == 0 and counts["shared"] >= 2


def test_a_batch_retried_in_process_still_leaves_its_ledger_entries(
    world: World, store: AuditStore
) -> None:
    """The first attempt remembers the event in memory and is lost; the retry finds it
    remembered (a redelivery) and must still produce the entry, or a restarted instance
    would not know the id and share a reused one."""
    world.send(POLICE, police_event(EVENT_IDS[0], 1))
    world.batch(10, crash="retry")
    world.batch(10)
    world._restart()
    world.send(POLICE, police_event(EVENT_IDS[0], 0))  # reused id, other content
    world.drain()
    assert check_promise(world, store)["dead"] == 1


# -- the property: any interleaving ------------------------------------------------------------

send = st.tuples(
    st.just("send"), st.sampled_from([POLICE, FIRE]), st.integers(0, 2), st.integers(0, 2)
)
# ("batch", size, crash): the next records through World.batch, now and then lost to a crash.
batches = st.tuples(
    st.just("batch"),
    st.integers(1, 4),
    st.sampled_from([None, None, "before-flush", "retry", "after-flush"]),
)
# Each example builds a World in a folder of its own: slow, and the fixtures it takes
# (catalogue, agreements, keys) hold nothing an example changes.
WORLD_EXAMPLES = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(WORLD_EXAMPLES, max_examples=30)
@given(actions=st.lists(st.one_of(send, send, batches), min_size=1, max_size=14))
def test_sink_rows_and_receipts_equal_the_shared_decisions_under_any_interleaving(
    tmp_path_factory: pytest.TempPathFactory,
    catalogue: Any,
    reference_agreements: list[Agreement],
    keys: Any,
    actions: list[tuple[Any, ...]],
) -> None:
    """Duplicates (same id, same content), redeliveries (crashes before and after the flush),
    reused ids (same provider, other content), the same id from another provider, and the
    same event under another schema version, in any order."""
    tmp = tmp_path_factory.mktemp("world")
    world = World(tmp, catalogue, reference_agreements, keys)
    for action in actions:
        if action[0] == "send":
            _, provider, which, variant = action
            event_id = EVENT_IDS[which]
            if provider == POLICE:
                world.send(POLICE, police_event(event_id, variant))
            else:
                world.send(FIRE, fire_event(world.types[FIRE], event_id, variant))
        else:
            world.batch(action[1], crash=action[2])
    world.drain()
    with world.audit() as store:
        check_promise(world, store)

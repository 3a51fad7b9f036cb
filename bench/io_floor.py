"""The I/O floor: what the Kafka client and the signature check cost per event, with no work.

Issue 17 judges the hub's CPU per event against a codec floor (fastavro decoding each input
and encoding each output once). A processor also has to consume the input, check where it
came from, produce each disclosure and the audit of each decision, and commit. This
measures that part alone, in one process, with the hub's own client settings, over the same
signed safeguarding concerns the main benchmark publishes:

(a) ``copy``: consume each record and produce it once, flush, commit (one output an event);
(b) ``fanout``: consume each record and produce as many copies of it, with the headers a
    disclosure carries, as the reference agreements share (the pure engine decides the same
    events first: about 0.53 disclosures and 3 decisions an event), plus one audit record
    of 100 x ``audit_bytes`` for every 100 decisions (as the processor batches them), flush,
    commit the batch: the processor's Kafka traffic with no decoding, deciding or encoding;
(c) ``verify``: the processor's own ``Verifier`` (batch-signed records: Merkle path and one
    Ed25519 check per distinct root, in this process) over the same records.

CPU is this process's (every thread: librdkafka's included) from ``time.process_time``,
from the first record consumed to the last commit, over the events; the embedded broker's
CPU is not counted. ``floor_with_io_us`` = fanout + verify, the least a processor doing the
hub's Kafka work in Python with confluent-kafka can spend before any codec or policy work.

    .venv/bin/python -m bench.io_floor [--events 20000] [--json]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, Message, Producer, TopicPartition

from bench.infra import hub_for_bench
from bench.raw_copy import consume_until, produce
from bench.report import emit
from connectors.synthetic.police import EVENT_TYPE, PARTNER, PoliceFeed
from hub.agreements.loader import load_agreements
from hub.broker import ensure_topics
from hub.broker.client_config import consumer_config, producer_config
from hub.catalogue.schemas import load_catalogue
from hub.config import Settings
from hub.policy.engine import PolicyEngine
from hub.processor.build import partner_keys
from hub.processor.verify import Verifier

BATCH = 2000  # the processor's largest batch
DECISIONS_PER_AUDIT_RECORD = 100  # hub/processor/processor.py AUDIT_CHUNK
# Stand-ins for what a disclosure carries (disclosure id, event id, provider, recipient,
# agreement, revision, withdraws), built once: the processor's work is not the bench's.
DISCLOSURE = [(f"hub.h{i}", b"0123456789abcdef0123456789abcdef") for i in range(7)]


def kafka_us(
    bootstrap: str,
    source: str,
    sink: str,
    n: int,
    outputs: float,
    decisions: float,
    audit_bytes: int,
) -> float:
    """CPU µs per event of consuming, producing ``outputs`` disclosures and the audit of
    ``decisions`` decisions, flushing and committing, batch by batch."""
    consumer = Consumer(
        consumer_config(bootstrap, f"bench-io-{time.time_ns()}", **{"enable.auto.commit": False})
    )
    producer = Producer(producer_config(bootstrap))
    consumer.subscribe([source])
    audit_value = b"x" * (audit_bytes * DECISIONS_PER_AUDIT_RECORD)
    # Fractions carried from event to event, so n events produce n x outputs disclosures.
    pending = {"decisions": 0.0, "outputs": 0.0}

    def handle(batch: list[Message]) -> None:
        for m in batch:
            value, key = m.value() or b"", m.key()
            carried: Any = m.headers() or []  # the trace context, as the processor carries it
            headers = [*carried[:1], *DISCLOSURE]
            pending["outputs"] += outputs
            while pending["outputs"] >= 1:
                produce(producer, sink, value, key, headers)
                pending["outputs"] -= 1
            pending["decisions"] += decisions
            while pending["decisions"] >= DECISIONS_PER_AUDIT_RECORD:
                produce(producer, sink, audit_value, None, None)
                pending["decisions"] -= DECISIONS_PER_AUDIT_RECORD
        if producer.flush(30):
            raise RuntimeError("io floor: records not acknowledged")
        ends: dict[tuple[str, int], int] = {}
        for m in batch:
            ends[(m.topic() or "", m.partition() or 0)] = (m.offset() or 0) + 1
        consumer.commit(
            offsets=[TopicPartition(t, p, o) for (t, p), o in ends.items()], asynchronous=False
        )

    try:
        seconds = consume_until(consumer, n, handle, 180, time.process_time)
    finally:
        consumer.close()
    return seconds / n * 1e6


def verify_us(bootstrap: str, source: str, n: int, settings: Settings) -> float:
    """CPU µs per record of the processor's Verifier over the records, in this process."""
    consumer = Consumer(consumer_config(bootstrap, f"bench-io-verify-{time.time_ns()}"))
    consumer.subscribe([source])
    records: list[Message] = []
    consume_until(consumer, n, records.extend, 180, time.process_time)
    consumer.close()
    keys = partner_keys(settings).public_keys()
    verifier = Verifier(helper_process=False)
    try:
        start = time.process_time()
        verdicts = list(verifier.verdicts(records, keys))
        seconds = time.process_time() - start
    finally:
        verifier.close()
    bad = [v for v in verdicts if not isinstance(v, str)]
    if bad:
        raise RuntimeError(f"io floor: {len(bad)} records failed verification: {bad[0]}")
    return seconds / n * 1e6


def shares(settings: Settings, events: list[dict[str, Any]]) -> tuple[float, float]:
    """Disclosures and decisions an event under the reference agreements (the pure engine)."""
    engine = PolicyEngine(load_agreements(settings.partnership_dir / "agreements"))
    event_type = load_catalogue(settings.schemas_dir).get(EVENT_TYPE)
    assert event_type is not None
    now = datetime.now(UTC)
    decided = [engine.decide(e, event_type, PARTNER, now) for e in events]
    shared = sum(1 for ds in decided for d in ds if d.shared)
    return shared / len(events), sum(len(ds) for ds in decided) / len(events)


def run(events: int = 20_000, audit_bytes: int = 700) -> dict[str, Any]:
    with hub_for_bench("hub-bench-io-", "bench.io-floor.v1") as hub:
        feed = list(PoliceFeed(seed=2026).events(events))
        outputs, decisions = shares(hub.settings, feed)
        for e in feed:
            hub.publisher.publish(e)
        hub.publisher.flush(120)
        hub.publisher.close()
        ensure_topics(hub.broker.bootstrap, ["bench.io-floor.v1"])
        b, src, dst = hub.broker.bootstrap, hub.topic, "bench.io-floor.v1"
        copy = kafka_us(b, src, dst, events, 1, 0, audit_bytes)
        fanout = kafka_us(b, src, dst, events, outputs, decisions, audit_bytes)
        verify = verify_us(b, src, events, hub.settings)
    return {
        "io_events": events,
        "io_outputs_per_event": round(outputs, 3),
        "io_decisions_per_event": round(decisions, 3),
        "io_copy_us": round(copy, 1),
        "io_fanout_us": round(fanout, 1),
        "io_verify_us": round(verify, 1),
        "floor_with_io_us": round(fanout + verify, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--audit-bytes", type=int, default=700, help="audit JSON per decision")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.events, args.audit_bytes)
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

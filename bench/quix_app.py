"""The hub's work per event as a Quix Streams application (issue 17's Quix row).

Run by ``bench/quix.py`` as a child process under ``.venv-quix``: quixstreams 3.28.1 needs
confluent-kafka < 2.13 and the hub's environment has 2.16, so the application gets an
environment of its own with the hub installed into it (no dependencies pulled, the hub's
own versions pinned; see bench/README.md).

What a Python team would write today: an ``Application`` with its own consumer group, the
partner topic read as bytes into a ``StreamingDataFrame``, one function per record that
returns every record to produce (``apply(expand=True)``), and ``to_topic`` choosing the topic
per output (headers with ``set_headers``, key with ``to_topic(key=...)``, the value's bytes
with a serializer). The function does the hub's work with the hub's pieces, one event at a
time, as the faust agent does (bench/faust_agent.py), but with the processor's cheaper
equivalents where the processor has them:

- verify the signature (``hub.identity.signing.verify``, the partner key store's keys);
- decode (``hub.codec.admission.decode_admitted``: ``SchemaCache`` and ``wire``, no schema
  resolution when the writer's schema is the catalogue's, as the processor decodes);
- decide through the stream's compiled plan (``hub.policy.compiled.decide``, the same
  decisions as ``PolicyEngine.decide``);
- transform through the plan's field program (``hub.privacy.program``, the same output as
  ``Transformer.apply``), encode with the recipient schema (``wire.encode``);
- one record per disclosure (the hub's disclosure headers) and one audit record per
  decision (``AuditRecord.of_decision``, as the faust agent writes them).

Timed from the first record's arrival in the function to the return of ``Application.run``
after ``stop()`` at the N-th processed record: that final checkpoint flushes the producer
(every output acknowledged) and commits the offsets. Over the same span, the process's CPU
(``time.process_time``: every thread, librdkafka's included) per event, which the load of a
shared machine does not inflate as it does wall-clock time. Writes ``{"consumed",
"seconds", "eps", "cpu_us_per_event", "stage_us", "shared", "decisions", "rejected"}`` as
JSON to ``--result``; ``stage_us`` is this thread's CPU per event in verify, decode and the
rest of the work (``time.thread_time``, about 1 µs a read here, four reads an event).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka.schema_registry import SchemaRegistryClient
from quixstreams import Application, message_context  # type: ignore[import-not-found]
from quixstreams.models.serializers import Serializer  # type: ignore[import-not-found]

from bench.agents import add_agent_args
from hub.agreements.loader import load_agreements
from hub.audit.records import AuditRecord
from hub.catalogue.headers import disclosure_headers
from hub.catalogue.schemas import EventType, load_catalogue
from hub.catalogue.topics import parse_partner_topic, share_topic
from hub.codec import wire
from hub.codec.admission import decode_admitted
from hub.codec.schemas import SchemaCache
from hub.config import Settings
from hub.errors import InputRejected
from hub.identity.keys import PartnerKeyStore
from hub.identity.signing import verify
from hub.policy import compiled
from hub.policy.engine import PolicyEngine
from hub.privacy import program
from hub.privacy.keys import LocalKeyProvider
from hub.privacy.transform import Transformer

PREFIX = "bench.quix."  # output topics: bench.quix.<share topic>, apart from the hub's
AUDIT_TOPIC = PREFIX + "audit.v1"
INSTANCE = "bench-quix"
# The embedded broker (Tansu), as the hub's own clients are tuned for it
# (hub/kafka/config.py): a short session timeout (else the first group join takes ~23 s)
# and a short fetch wait (Tansu answers a fetch only when the wait is over).
CONSUMER_TUNING = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000}
FETCH_TUNING = {"fetch.wait.max.ms": 20}
PRODUCER_TUNING = {"linger.ms": 5}  # as the hub's producers; Quix adds enable.idempotence


class Output(NamedTuple):
    """One record to produce: ``to_topic`` picks the topic, key and headers from it."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


class Work:
    """The hub's pieces, built once, and the work for one record."""

    def __init__(self, data_dir: Path, registry: str, topic: str) -> None:
        settings = Settings(data_dir=data_dir)
        catalogue = load_catalogue(settings.schemas_dir)
        self.engine = PolicyEngine(load_agreements(settings.partnership_dir / "agreements"))
        self.public_keys = PartnerKeyStore(
            settings.partnership_dir / "partner-keys", settings.data_dir / "partner-keys"
        ).public_keys()
        self.transformer = Transformer(LocalKeyProvider(settings.data_dir / "keys"))
        self.schemas = SchemaCache(SchemaRegistryClient({"url": registry}), catalogue)
        owner = parse_partner_topic(topic)
        if owner is None:
            raise SystemExit(f"{topic} is not a partner topic")
        self.owner = owner
        event_type = catalogue.get(owner.event_type)
        if event_type is None:
            raise SystemExit(f"{owner.event_type} is not in the catalogue")
        # Every recipient an agreement names for this stream: their topics are declared
        # before the application starts, as Quix wants its topics.
        self.recipient_topics = [
            PREFIX + share_topic(r, event_type.slug)
            for r in self.engine.candidates(owner.partner, event_type.slug)
        ]
        self.first = 0.0
        self.first_cpu = 0.0
        self.shared = 0
        self.decisions = 0
        self.rejected = 0
        # This thread's CPU in the work's own steps (time.thread_time: waiting for a core
        # does not count); the rest of the process's CPU is Quix's and librdkafka's.
        self.stage_cpu = {"verify": 0.0, "decode": 0.0, "decide_transform_audit": 0.0}

    def outputs(
        self, value: bytes, key: bytes | None, _timestamp: int, headers: Any
    ) -> list[Output]:
        """Every record to produce for one input record (none if it is rejected)."""
        if not self.first:
            self.first, self.first_cpu = time.perf_counter(), time.process_time()
        ctx = message_context()
        cpu = self.stage_cpu
        t0 = time.thread_time()
        try:
            signer = verify(headers or [], ctx.topic, key, value, self.public_keys)
            t1 = time.thread_time()
            event_type, event = decode_admitted(self.schemas, self.owner, ctx.topic, value, signer)
        except InputRejected as exc:
            # The hub dead-letters these; the benchmark's input has none, so it counts them
            # (the parent reports any) instead of building a dead-letter path of its own.
            self.rejected += 1
            logging.getLogger("bench.quix").warning("rejected %s: %s", ctx.offset, exc)
            return []
        t2 = time.thread_time()
        out = self._decided(event_type, event, signer, (ctx.topic, ctx.partition, ctx.offset))
        cpu["verify"] += t1 - t0
        cpu["decode"] += t2 - t1
        cpu["decide_transform_audit"] += time.thread_time() - t2
        return out

    def _decided(
        self,
        event_type: EventType,
        event: dict[str, Any],
        signer: str,
        source: tuple[str, int, int],
    ) -> list[Output]:
        """Each candidate recipient decided: its disclosure if shared, its audit record."""
        now = datetime.now(UTC)
        decided_at = now.isoformat()
        subjects = self.transformer.subjects(event, event_type)
        out: list[Output] = []
        for d in compiled.decide(self.engine, event, event_type, signer, now):
            output_topic = None
            if d.shared and d.plan is not None:
                record = program.apply_with_notes(self.transformer, d.plan, event, event_type)
                schema = self.schemas.output(d.plan, event_type, d.recipient)
                disclosure = d.disclosure_id or ""
                output_topic = PREFIX + schema.topic
                out.append(
                    Output(
                        output_topic,
                        disclosure.encode(),
                        wire.encode(schema.schema_id, schema.parsed, record.record),
                        disclosure_headers(
                            disclosure,
                            event_id=d.event_id,
                            provider=d.provider,
                            recipient=d.recipient,
                            agreement=f"{d.agreement_id}@v{d.agreement_version}",
                        ),
                    )
                )
                self.shared += 1
            row = AuditRecord.of_decision(
                d,
                legal_basis=None,
                gateways=(),
                decided_at=decided_at,
                instance=INSTANCE,
                source=source,
                output_topic=output_topic,
                subjects=subjects,
            )
            out.append(Output(AUDIT_TOPIC, d.decision_id.encode(), row.to_json(), []))
            self.decisions += 1
        return out


class OutputValue(Serializer):  # type: ignore[misc]
    """The value of an ``Output`` as it is produced: its bytes, already encoded."""

    def __call__(self, value: Output, ctx: Any) -> bytes:
        return value.value


def build_app(args: argparse.Namespace, work: Work) -> tuple[Any, dict[str, int]]:
    """The application and its count of processed records."""
    processed = {"n": 0}
    running: list[Any] = []

    def on_processed(_topic: str, _partition: int, _offset: int) -> None:
        processed["n"] += 1
        if processed["n"] >= args.events:
            running[0].stop()  # the run loop ends; its final checkpoint flushes and commits

    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        consumer_extra_config={**CONSUMER_TUNING, **FETCH_TUNING},
        producer_extra_config=PRODUCER_TUNING,
        # Nothing stateful: no changelog topics, and the state directory (Quix creates
        # one anyway) under the run's data dir, not the working directory.
        use_changelog_topics=False,
        state_dir=Path(args.data_dir) / "quix-state",
        loglevel="WARNING",
        on_message_processed=on_processed,
    )
    running.append(app)
    source = app.topic(args.topic, key_deserializer="bytes", value_deserializer="bytes")
    topics = {
        name: app.topic(name, key_serializer="bytes", value_serializer=OutputValue())
        for name in [*work.recipient_topics, AUDIT_TOPIC]
    }
    sdf = app.dataframe(source)
    sdf = sdf.apply(work.outputs, metadata=True, expand=True)
    sdf = sdf.set_headers(lambda value, _key, _ts, _headers: value.headers)
    sdf.to_topic(lambda value, _key, _ts, _headers: topics[value.topic], key=lambda v: v.key)
    return app, processed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_agent_args(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = Work(Path(args.data_dir), args.registry, args.topic)
    app, processed = build_app(args, work)
    app.run()
    seconds = time.perf_counter() - work.first
    cpu = time.process_time() - work.first_cpu
    result = {
        "consumed": processed["n"],
        "seconds": seconds,
        "eps": processed["n"] / seconds,
        "cpu_us_per_event": cpu / processed["n"] * 1e6,
        "stage_us": {k: v / processed["n"] * 1e6 for k, v in work.stage_cpu.items()},
        "shared": work.shared,
        "decisions": work.decisions,
        "rejected": work.rejected,
    }
    Path(args.result).write_text(json.dumps(result))


if __name__ == "__main__":
    main()

"""The common alternative to the hub's batch loop: a per-event faust-streaming agent.

Run as a child process by ``bench/processor.py`` (faust's worker owns the event loop and the
signal handlers, so it gets a process of its own). For every record it does the hub's work
with the hub's own building blocks: verify the signature, decode (fastavro, writer schema
from the registry, cached), decide (``PolicyEngine.decide``), transform (``Transformer``),
encode with the recipient schema and produce each disclosure and one audit record per
decision (like the hub's processor, which leaves the audit store to the audit ingester).

Writes ``{"consumed": n, "seconds": s, "eps": n/s, "shared": k}`` as JSON to ``--result``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import faust  # type: ignore[import-untyped]
from confluent_kafka.schema_registry import SchemaRegistryClient

from bench.agents import add_agent_args
from hub.agreements.loader import load_agreements
from hub.audit.records import AuditRecord
from hub.catalogue.schemas import load_catalogue
from hub.catalogue.topics import parse_partner_topic
from hub.codec import wire
from hub.codec.schemas import SchemaCache
from hub.config import Settings
from hub.identity.keys import PartnerKeyStore
from hub.identity.signing import verify
from hub.policy.engine import PolicyEngine
from hub.privacy.keys import LocalKeyProvider
from hub.privacy.transform import Transformer

AUDIT_TOPIC = "bench.faust.audit.v1"


def _headers(raw: Any) -> dict[str, bytes]:
    items = raw.items() if isinstance(raw, dict) else (raw or [])
    return {k: (v.encode() if isinstance(v, str) else v) for k, v in items if v is not None}


def build_app(args: argparse.Namespace) -> Any:
    settings = Settings(data_dir=Path(args.data_dir))
    catalogue = load_catalogue(settings.schemas_dir)
    engine = PolicyEngine(load_agreements(settings.partnership_dir / "agreements"))
    public_keys = PartnerKeyStore(
        settings.partnership_dir / "partner-keys", settings.data_dir / "partner-keys"
    ).public_keys()
    transformer = Transformer(LocalKeyProvider(settings.data_dir / "keys"))
    schemas = SchemaCache(SchemaRegistryClient({"url": args.registry}), catalogue)

    app = faust.App(
        args.group,
        broker=f"kafka://{args.bootstrap}",
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        # Tansu: a short session timeout, or the first group join takes ~23 s.
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
        consumer_auto_offset_reset="earliest",
        topic_partitions=3,
        producer_acks=-1,
        producer_linger_ms=5,
    )
    source = app.topic(args.topic, key_type=bytes, value_type=bytes)
    outputs: dict[str, Any] = {}
    audit_topic = app.topic(AUDIT_TOPIC, key_type=bytes, value_type=bytes)
    state = {"consumed": 0, "shared": 0, "first": 0.0}
    owner = parse_partner_topic(args.topic)
    assert owner is not None

    @app.agent(source)  # type: ignore[untyped-decorator]
    async def handle(stream: Any) -> None:
        async for event in stream.events():
            if not state["first"]:
                state["first"] = time.perf_counter()
            msg = event.message
            value: bytes = event.value
            key: bytes | None = event.key
            signer = verify(_headers(msg.headers), msg.topic, key, value, public_keys)
            schema_id, body = wire.split(value)
            writer = schemas.writer(schema_id)
            record = wire.decode(body, writer.parsed, writer.event_type.parsed)
            now = datetime.now(UTC)
            subjects = transformer.subjects(record, writer.event_type)
            for d in engine.decide(record, writer.event_type, signer, now):
                output_topic = None
                if d.shared and d.plan is not None:
                    out = transformer.apply(d.plan, record, writer.event_type)
                    schema = schemas.output(d.plan, writer.event_type, d.recipient)
                    if schema.topic not in outputs:
                        outputs[schema.topic] = app.topic(
                            f"bench.faust.{schema.topic}", key_type=bytes, value_type=bytes
                        )
                    disclosure = (d.disclosure_id or "").encode()
                    await outputs[schema.topic].send(
                        key=disclosure,
                        value=wire.encode(schema.schema_id, schema.parsed, out),
                        headers=[
                            ("hub.disclosure_id", disclosure),
                            ("hub.event_id", d.event_id.encode()),
                            ("hub.recipient", d.recipient.encode()),
                        ],
                    )
                    output_topic = schema.topic
                    state["shared"] += 1
                row = AuditRecord.of_decision(
                    d,
                    legal_basis=None,
                    gateways=(),
                    decided_at=now.isoformat(),
                    instance="bench-faust",
                    source=(msg.topic, msg.partition, msg.offset),
                    output_topic=output_topic,
                    subjects=subjects,
                )
                await audit_topic.send(key=d.decision_id.encode(), value=row.to_json())
            state["consumed"] += 1
            if state["consumed"] >= args.events:
                await app.producer.flush()
                seconds = time.perf_counter() - state["first"]
                result = {
                    "consumed": state["consumed"],
                    "seconds": seconds,
                    "eps": state["consumed"] / seconds,
                    "shared": state["shared"],
                }
                # To a file: faust's worker redirects stdout into its logging.
                Path(args.result).write_text(json.dumps(result))
                # Measured and reported: faust's orderly shutdown adds nothing to measure
                # and can take many seconds, so the child ends here.
                sys.stderr.flush()
                os._exit(0)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_agent_args(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    app = build_app(args)
    worker = faust.Worker(app, loglevel="WARNING", quiet=True)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()

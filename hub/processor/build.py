"""Wire a Processor and the audit ingester from settings; their clients come from the
runtime kit's connection (hub/kafka/connection.py), with the security settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from confluent_kafka.schema_registry import SchemaRegistryClient

from hub.catalogue.schemas import load_catalogue
from hub.codec.schemas import SchemaCache
from hub.config import Settings
from hub.identity.keys import PartnerKeyStore
from hub.kafka.connection import KafkaConnection
from hub.privacy.keys import LocalKeyProvider
from hub.privacy.transform import Transformer
from hub.processor.heap import HeapPolicy
from hub.processor.ledger import EventLedger, topic_ledger
from hub.processor.ledger_seed import producer_send, rebuild_from_audit
from hub.processor.ledger_store import open_store
from hub.processor.processor import Processor
from hub.processor.reload import RuleSource
from hub.processor.verify import Verifier

if TYPE_CHECKING:  # the audit store and ingester: only `hub process --ingest` builds them
    from hub.audit.ingest import AuditIngester
    from hub.audit.store import AuditStore

# How long the processor's producer may hold a record before sending (see build_processor).
BATCH_LINGER_MS = 50


def partner_keys(settings: Settings) -> PartnerKeyStore:
    """Registered partner public keys, plus development keys generated into the data dir."""
    return PartnerKeyStore(
        settings.partnership_dir / "partner-keys", settings.data_dir / "partner-keys"
    )


def rebuild_ledger(ledger: EventLedger, kafka: KafkaConnection, settings: Settings) -> None:
    """An empty ledger topic (the embedded broker restarted) refilled from the audit store,
    acknowledged before the processor consumes (hub/processor/ledger_seed.py)."""
    if settings.ledger_rebuild == "off" or (settings.ledger_rebuild == "auto" and len(ledger)):
        return  # the usual start: no producer to make
    producer = kafka.producer()
    try:
        rebuild_from_audit(
            ledger, producer_send(producer), settings.resolved_audit_url(), settings.ledger_rebuild
        )
    except BaseException:  # the ledger's consumer and file go with the failed start
        ledger.close()
        raise
    finally:
        producer.close()


def build_processor(settings: Settings, *, bootstrap: str, registry_url: str) -> Processor:
    catalogue = load_catalogue(settings.schemas_dir)
    partner_store = partner_keys(settings)
    rule_source = RuleSource(
        settings.partnership_dir / "agreements",
        partner_store,
        [settings.partnership_dir / "partner-keys", settings.data_dir / "partner-keys"],
    )
    rules = rule_source.load()
    keys = LocalKeyProvider(settings.data_dir / "keys", settings.pseudonym_keys)
    kafka = KafkaConnection.from_settings(settings, bootstrap)
    # Pick up partner topics created after start (regex subscription).
    consumer = kafka.consumer(
        settings.consumer_group, **{"topic.metadata.refresh.interval.ms": 5000}
    )
    transactional = (
        # Stable per instance across restarts, so a restarted instance fences its zombie.
        {"transactional.id": f"hub-{settings.processor_instance}"} if settings.transactions else {}
    )
    # The processor flushes every batch before it commits, so a record waits at most for its
    # batch; a linger of 50 ms lets the client send a busy batch's disclosures, ledger
    # entries and audit chunks in a request every 50 ms instead of every 5 (measured: about
    # 15 µs of CPU an event less, most of what a linger past the batch saves), and a full
    # batch's early records still leave while it is decided (a 1 s linger held them to the
    # flush: 200-475 ms more p99 when saturated, bench/README.md latency budget).
    producer = kafka.producer(**{"linger.ms": BATCH_LINGER_MS, **transactional})
    ledger = topic_ledger(
        kafka,
        f"{settings.consumer_group}-ledger",
        open_store(settings.ledger_store, settings.data_dir, settings.processor_instance),
    )
    rebuild_ledger(ledger, kafka, settings)
    return Processor(
        consumer=consumer,
        producer=producer,
        schemas=SchemaCache(SchemaRegistryClient({"url": registry_url}), catalogue),
        engine=rules.engine,
        transformer=Transformer(keys),
        instance=settings.processor_instance,
        public_keys=rules.public_keys,
        rules=rule_source,
        group=settings.consumer_group,
        batch_size=settings.batch_size,
        max_record_bytes=settings.max_record_bytes,
        max_message_bytes=kafka.max_message_bytes,
        batch_wait=settings.batch_wait_ms / 1000,
        transactional=settings.transactions,
        verifier=Verifier(helper_process=settings.verify_process),
        heap=HeapPolicy(freeze=settings.gc_freeze),
        ledger=ledger,
    )


def build_ingester(settings: Settings, *, bootstrap: str, store: AuditStore) -> AuditIngester:
    """The audit ingester for these settings: its own consumer group on the audit topics."""
    from hub.audit.ingest import AuditIngester

    kafka = KafkaConnection.from_settings(settings, bootstrap)
    return AuditIngester(kafka.consumer(settings.audit_ingest_group), store)

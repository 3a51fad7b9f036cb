"""The hub processor: validate -> identify -> decide -> transform -> route, in batches.

Nothing lost: offsets are committed only after every output, audit record and dead letter
of the batch is acknowledged by the broker and the audit store has the batch. Nothing
duplicated: every output carries its disclosure id and the sinks and the audit store are
idempotent on it, so redelivery after a crash is harmless. Bad input never stops the loop:
it is dead-lettered with its reason; only infrastructure failure stops it.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.agreements.models import Agreement
from hub.audit.records import (
    DEAD_LETTER,
    DECISIONS,
    KIND_HEADER,
    AuditRecord,
    DeadLetterRecord,
    decisions_json,
)
from hub.catalogue.headers import disclosure_headers
from hub.catalogue.notice import NO_LONGER_SHARED, NOTICE_HEADER
from hub.catalogue.schemas import EventType
from hub.catalogue.topics import AUDIT_TOPIC, EVENTS_TOPIC, PartnerTopic, parse_partner_topic
from hub.codec import wire
from hub.codec.admission import check_size, decode_admitted, partner_topic_of
from hub.codec.schemas import OutputSchemaRejected, SchemaCache
from hub.errors import InputRejected, Retryable
from hub.identity.signing import UnknownSigner, verify
from hub.kafka import DEFAULT_MAX_MESSAGE_BYTES, BatchLoop, CheckedProducer, sort_out
from hub.kafka.producer import RecordTooLarge
from hub.kafka.records import Headers, coordinates, headers_bytes
from hub.outage import LossRetry
from hub.policy import compiled
from hub.policy.decision import Decision, Outcome
from hub.policy.engine import PolicyEngine
from hub.policy.facts import event_time
from hub.policy.plan import RecordPlan
from hub.privacy import program
from hub.privacy.transform import Transformer, TransformError
from hub.processor import corrections, deadletter
from hub.processor.heap import HeapPolicy
from hub.processor.ledger import EventLedger, Reach, content_digest
from hub.processor.reload import RuleSource
from hub.processor.verify import Verifier
from hub.telemetry.metrics import Metrics
from hub.telemetry.tracing import (
    PROCESS,
    Passthrough,
    extract_context,
    inject_context,
    messaging_attributes,
    record_trace,
    trace_id_of,
    tracer,
    tracing_active,
)

log = logging.getLogger("hub.processor")

PARTNER_TOPICS = r"^partner\..*"
_DECISIONS_KIND: Headers = [(KIND_HEADER, DECISIONS.encode())]
# Decisions per audit record: well under the broker's default 1 MB record limit even with
# wide field lists, and few records per batch.
AUDIT_CHUNK = 100
_DEAD_LETTER_KIND: Headers = [(KIND_HEADER, DEAD_LETTER.encode())]
# The audit outcome of a retraction notice (issue 18): a disclosure of the withdrawal.
RETRACTED = "retracted"


@dataclass
class Stats:
    consumed: int = 0
    decisions: int = 0
    shared: Counter[str] = field(default_factory=Counter)
    withheld: int = 0
    retracted: Counter[str] = field(default_factory=Counter)  # notices, by recipient
    deadlettered: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    reloads: int = 0


def _signature_verdict(msg: Message, keys: Mapping[str, Ed25519PublicKey]) -> str | InputRejected:
    try:
        # The headers as sent (order, repeats, nulls): a batch-signed record's leaf covers them.
        return verify(msg.headers() or [], msg.topic() or "", msg.key(), msg.value(), keys)
    except InputRejected as exc:
        return exc


class Processor:
    def __init__(
        self,
        *,
        consumer: Consumer,
        producer: Producer | CheckedProducer,
        schemas: SchemaCache,
        engine: PolicyEngine,
        transformer: Transformer,
        instance: str,
        public_keys: Mapping[str, Ed25519PublicKey],
        batch_size: int = 2000,
        max_record_bytes: int = 1_000_000,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        batch_wait: float = 0.05,
        transactional: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rules: RuleSource | None = None,
        metrics: Metrics | None = None,
        group: str = "",
        verifier: Verifier | None = None,
        heap: HeapPolicy | None = None,
        ledger: EventLedger | None = None,
    ) -> None:
        # Every record produced goes through the checked producer (hub/kafka/producer.py).
        self._out = CheckedProducer.wrap(producer, max_message_bytes)
        self._schemas = schemas
        self._engine = engine
        self._transformer = transformer
        self._instance = instance
        self._max_bytes = max_record_bytes
        # Polling, committing and transactions: the runtime kit's loop (hub/kafka/loop.py),
        # which holds the consumer. Transactions need transactional.id in the producer's
        # configuration. ``batch_wait``: consume() waits this long for a full batch: short,
        # so a quiet stream's events are not held back (latency); under load batches fill
        # before it passes (throughput).
        self._loop = BatchLoop(
            consumer,
            name="hub processor",
            size=batch_size,
            wait=batch_wait,
            producer=self._out,
            transactional=transactional,
        )
        self._clock = clock
        self._agreements: dict[tuple[str, int], Agreement] = {
            (a.id, a.version): a for a in engine.agreements
        }
        self._public_keys = public_keys
        self._rules = rules
        self.metrics = metrics or Metrics()
        self._group = group
        self._trace_id: str | None = None  # of the record being handled, for its audit rows
        self._basis: dict[tuple[str, int], tuple[str | None, tuple[str, ...]]] = {}
        self._decision_counters: dict[tuple[str, str, str, Outcome], Any] = {}
        self._batch_counts: Counter[tuple[str, str, str, Outcome]] = Counter()
        self._batch_events: Counter[str] = Counter()
        self._now_iso = ""
        self._fields_by_plan: dict[int, tuple[RecordPlan, dict[str, dict[str, str]]]] = {}
        self._verifier = verifier or Verifier()
        self._heap = heap or HeapPolicy(freeze=False)
        # Seen (provider, event id) -> content digest (hub/processor/ledger.py).
        self._ledger = ledger if ledger is not None else EventLedger()
        self._keys_refreshed = False  # keys re-read at most once per batch
        self._traced = False  # decided per batch: spans only when a tracer is configured
        self._carry: Headers | None = None  # trace headers passed on when untraced
        # Outputs of the record being decided: produced once the whole record is decided,
        # dropped if it is dead-lettered instead (nothing reaches a recipient unaudited).
        self._staged: list[tuple[str, bytes | None, bytes | None, Headers]] = []
        self._started = 0.0
        self.stats = Stats()

    # -- loop ---------------------------------------------------------------------------

    def run(
        self,
        stop: threading.Event,
        *,
        until: Callable[[Stats], bool] | None = None,
        on_batch: Callable[[Stats], None] | None = None,
        poll_timeout: float | None = None,
    ) -> Stats:
        consumer = self._loop.consumer
        consumer.subscribe([PARTNER_TOPICS])
        losses = LossRetry("hub processor")  # a lost broker: rewind, back off, poll again
        while not stop.is_set() and not (until and until(self.stats)):
            self._maybe_reload()
            records: list[Message] = []
            try:
                records = self._loop.poll(poll_timeout).records
                if not records:
                    continue
                self.process_batch(records)
            except Exception as exc:
                if not losses.recover(consumer, records, exc, stop):
                    raise
                continue
            losses.succeeded()
            self._heap.settled()
            if on_batch:
                on_batch(self.stats)
        return self.stats

    def _maybe_reload(self) -> None:
        """Between batches only: every record of a batch is decided under the same rules."""
        if self._rules is None:
            return
        new = self._rules.changed()
        if new is not None:
            self._engine = new.engine
            self._agreements = {(a.id, a.version): a for a in new.engine.agreements}
            self._basis.clear()
            self._public_keys = new.public_keys
            self._heap.thaw()
            self.stats.reloads += 1
            self.metrics.reloads.inc()

    def process_batch(self, messages: list[Message]) -> None:
        """Decide a batch, then commit past it once every output, dead letter and audit
        record is acknowledged (the kit's loop: never past an unacknowledged record)."""
        records = sort_out(messages, "hub processor").records
        if not records:
            return
        started = time.perf_counter()
        self._ledger.begin()  # memory follows what the broker acknowledged (corrections)
        try:
            done = self._loop.handle(records, self._decide_batch)
        except BaseException:
            self._ledger.rollback()
            raise
        self._ledger.commit()
        self.stats.batches += 1
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self._record_lag(done)

    def _decide_batch(self, records: list[Message]) -> None:
        """Decide every record and produce its outputs, dead letter and audit records."""
        self._traced = tracing_active()
        self._keys_refreshed = False
        audit_rows: list[AuditRecord] = []
        dead: list[DeadLetterRecord] = []
        now = self._clock()
        self._now_iso = now.isoformat()
        for msg, verdict in zip(records, self._verdicts(records), strict=True):
            topic, partition, offset = coordinates(msg)
            self.stats.consumed += 1
            self._one(msg, topic, partition, offset, now, audit_rows, dead, verdict)
        self._publish_counts()
        for i in range(0, len(audit_rows), AUDIT_CHUNK):
            self._produce_decisions(audit_rows[i : i + AUDIT_CHUNK])
        for record in dead:
            self._out.produce(
                AUDIT_TOPIC, record.to_json(), record.dead_letter_id.encode(), _DEAD_LETTER_KIND
            )

    def _produce_decisions(self, chunk: list[AuditRecord]) -> None:
        """One audit record for the chunk, halved until each part fits the producer's
        limit (wide field lists, long notes): the audit never stalls on its own size."""
        value = decisions_json(chunk)
        key = chunk[0].decision_id.encode()
        if len(chunk) > 1 and not self._out.fits(value, key, _DECISIONS_KIND):
            half = len(chunk) // 2
            self._produce_decisions(chunk[:half])
            self._produce_decisions(chunk[half:])
            return
        self._out.produce(AUDIT_TOPIC, value, key, _DECISIONS_KIND)

    def _verdicts(self, records: list[Message]) -> Iterator[str | InputRejected]:
        """Each record's signer, or why its signature fails, computed alongside the Python
        work of deciding (hub/processor/verify.py)."""
        return self._verifier.verdicts(records, self._public_keys)

    def _record_lag(self, offsets: dict[tuple[str, int], int]) -> None:
        """Consumer lag from the watermarks the client already holds (no broker round trip)."""
        for (topic, partition), next_offset in offsets.items():
            try:
                _low, high = self._loop.consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), cached=True
                )
            except Exception:  # cached watermarks are best effort; lag is a gauge
                continue
            if high >= 0:
                self.metrics.lag.labels(topic, str(partition)).set(max(0, high - next_offset))

    def _one(
        self,
        msg: Message,
        topic: str,
        partition: int,
        offset: int,
        now: datetime,
        audit_rows: list[AuditRecord],
        dead: list[DeadLetterRecord],
        verdict: str | InputRejected,
    ) -> None:
        """Decide one record in its own ``process`` span, or dead-letter it."""
        owner = parse_partner_topic(topic)
        partner = owner.partner if owner else None
        self._batch_events[partner or "?"] += 1
        headers = headers_bytes(msg)
        if self._traced:
            attrs = messaging_attributes(
                "process", topic, partition=partition, offset=offset, group=self._group
            )
            with tracer().start_as_current_span(
                f"process {topic}", context=extract_context(headers), kind=PROCESS, attributes=attrs
            ) as span:
                self._trace_id, self._carry = trace_id_of(span), None
                rejected = self._decide(msg, owner, now, audit_rows, verdict)
                if rejected is not None:
                    span.set_attribute("error.type", rejected.code)
        else:
            carry = Passthrough(headers)
            self._trace_id, self._carry = carry.trace_id, carry.headers
            with record_trace(carry.trace_id):  # log lines about it name its trace id
                rejected = self._decide(msg, owner, now, audit_rows, verdict)
        if rejected is None:
            return
        code = rejected.code
        record, dlq_headers = deadletter.dead_letter(
            rejected,
            partner=partner,
            topic=topic,
            partition=partition,
            offset=offset,
            instance=self._instance,
        )
        # A copy with the original headers (signature, trace context), so a fixed cause
        # can be replayed exactly as sent; by reference when a copy would not fit.
        signer = verdict if isinstance(verdict, str) else None
        record = deadletter.send(
            self._out, record, dlq_headers, deadletter.Received.of(msg, signer)
        )
        log.warning(deadletter.describe(record))
        dead.append(record)
        self.stats.deadlettered[code] += 1
        self.metrics.deadletters.labels(partner or "?", code).inc()

    def _decide(
        self,
        msg: Message,
        owner: PartnerTopic | None,
        now: datetime,
        audit_rows: list[AuditRecord],
        verdict: str | InputRejected,
    ) -> InputRejected | None:
        """No record stalls its partition: whatever fails for this record alone is its dead
        letter. Only infrastructure (retryable errors, the broker, the file system) stops the
        loop, so that nothing is lost."""
        staged = self._staged
        try:
            rows = self._handle(msg, owner, now, verdict)
        except InputRejected as exc:
            staged.clear()
            return exc
        except RecordTooLarge as exc:
            staged.clear()
            return deadletter.OutputTooLarge(str(exc), fix=deadletter.OutputTooLarge.advice)
        except (Retryable, KafkaException, OSError):
            staged.clear()
            raise
        except Exception as exc:  # a bug or an input nobody foresaw: this record only
            staged.clear()
            return deadletter.internal_error(exc)
        out = self._out
        for topic, value, key, headers in staged:
            out.send(topic, value, key, headers)
        staged.clear()
        audit_rows.extend(rows)
        return None

    def close(self) -> None:
        """Leave the group cleanly so partitions move to another instance at once."""
        self._verifier.close()
        self._heap.thaw()
        self._ledger.close()
        self._out.close()
        self._loop.consumer.close()

    # -- one record ---------------------------------------------------------------------

    def _handle(
        self,
        msg: Message,
        owner: PartnerTopic | None,
        now: datetime,
        verdict: str | InputRejected,
    ) -> list[AuditRecord]:
        partner, event_type, event = self._checked(msg, owner, verdict)
        # Identity of the content: a reused event id with other content is dead-lettered
        # (EventIdReused), the same content again is a redelivery decided with the same ids,
        # a higher revision is a correction (hub/processor/corrections.py).
        digest = content_digest(event)
        self._ledger.refresh()
        source = coordinates(msg)
        if event_type.slug == corrections.RETRACTION_TYPE:
            return self._retract(partner, event, event_type, source, now)
        return self._revise(partner, event, event_type, digest, source, now)

    def _checked(
        self, msg: Message, owner: PartnerTopic | None, verdict: str | InputRejected
    ) -> tuple[str, EventType, dict[str, Any]]:
        """The record's partner, event type and decoded event, once its size, signer,
        schema and claimed source are proven; else the reason it is rejected. ``owner``:
        the record's topic as _one parsed it (None: not a partner topic, which raises)."""
        topic = msg.topic() or ""
        owner = owner or partner_topic_of(topic)
        value = msg.value()
        check_size(value, self._max_bytes)
        # Identity first: nothing from an unproven sender is decoded, let alone shared.
        if isinstance(verdict, UnknownSigner):
            verdict = self._verify_with_fresh_keys(msg, verdict)
        if isinstance(verdict, InputRejected):
            raise verdict
        event_type, event = decode_admitted(self._schemas, owner, topic, value, verdict)
        return owner.partner, event_type, event

    def _revise(
        self,
        partner: str,
        event: dict[str, Any],
        event_type: EventType,
        digest: str,
        source: tuple[str, int, int],
        now: datetime,
    ) -> list[AuditRecord]:
        """Decide one revision of an event (1: the original) under today's agreements: a
        disclosure, or an update of what a recipient holds, or a retraction notice to one
        that held it and may no longer."""
        event_id = event_type.event_id(event)
        revision = int(event_type.value_at_tag(event, "revision") or 1)
        entry = self._ledger.entry(partner, event_id)
        step = corrections.revision_step(entry, partner, event_id, revision, digest)
        if step.skip:
            return []  # a superseded revision redelivered: decided and audited before
        subjects = self._transformer.subjects(event, event_type)
        content = corrections.content_for(digest, revision)
        occurred = _iso(event_time(event, event_type))  # once per event, not per recipient
        rows: list[AuditRecord] = []
        reached = dict(step.reached)
        # The stream's compiled plan (hub/policy/compiled.py): the engine's decisions.
        for decision in compiled.decide(self._engine, event, event_type, partner, now):
            d = decision.with_content(content)
            before = step.prior.get(d.recipient)
            row = self._route(
                d, event, event_type, source, subjects, revision, digest, before, occurred
            )
            rows.append(row)
            if row.outcome == Outcome.SHARED.value and row.disclosure_id:
                reached[d.recipient] = corrections.reach(row.disclosure_id, revision, True)
            elif before is not None and before[2]:
                why = f"revision {revision} may no longer be shared: {row.reason}"
                notice = self._notify(row, before, f"r{revision}", NO_LONGER_SHARED, why)
                rows.append(notice)
                withdrawn = notice.disclosure_id or ""
                reached[d.recipient] = corrections.reach(withdrawn, revision, False)
        # Held, and no agreement names the recipient for this event any more: withdrawn too.
        decided = {row.recipient for row in rows}
        for recipient, before in sorted(step.prior.items()):
            if recipient not in decided and before[2]:
                base = corrections.notice_base(
                    partner, event_id, event_type.slug, recipient, source, digest, revision
                )
                why = f"revision {revision}: no agreement shares it with {recipient} any more"
                notice = self._notify(base, before, f"r{revision}", NO_LONGER_SHARED, why)
                rows.append(notice)
                reached[recipient] = corrections.reach(notice.disclosure_id or "", revision, False)
        # Remembered once the record is decided (a record dead-lettered on the way is not).
        # Staged with its outputs, so acknowledged before the offsets commit, and staged
        # every time: a redelivery must still leave the entry on the topic.
        new = corrections.next_entry(
            step,
            provider=partner,
            event_id=event_id,
            event_type=event_type.slug,
            revision=revision,
            digest=digest,
            source=f"{source[0]}:{source[1]}:{source[2]}",
            at=now.isoformat(),
            reached=reached,
        )
        self._ledger.put(new)
        self._produce(EVENTS_TOPIC, new.to_json(), new.key(), [])
        return rows

    def _retract(
        self,
        provider: str,
        event: dict[str, Any],
        event_type: EventType,
        source: tuple[str, int, int],
        now: datetime,
    ) -> list[AuditRecord]:
        """A partner withdraws one of its own events: a notice to every recipient ever
        reached, whatever today's agreements say; nothing to one never reached."""
        retraction_id = event_type.event_id(event)
        target = str(event["retracted_event_id"])
        reason_code = str(event["reason"])
        entry = self._ledger.entry(provider, target)
        step = corrections.retraction_step(entry, provider, target, retraction_id)
        reached = dict(step.reached)
        rows: list[AuditRecord] = []
        slug = entry.event_type if entry is not None else None
        latest = (entry.revision or 1) if entry is not None else 1
        digest = entry.digest if entry is not None else ""
        for recipient, before in sorted(step.prior.items()):
            if slug is None:
                break  # an entry from before issue 18 names no recipients anyway
            base = corrections.notice_base(
                provider, target, slug, recipient, source, digest, latest
            )
            why = f"retracted by {provider} ({reason_code}), retraction {retraction_id}"
            rows.append(self._notify(base, before, retraction_id, reason_code, why))
            reached[recipient] = corrections.reach(rows[-1].disclosure_id or "", latest, False)
        if entry is None:
            log.warning(
                "retraction %s: event %s from %s not seen yet; remembered as retracted, so it "
                "is never shared if it arrives later",
                retraction_id,
                target,
                provider,
            )
        at = now.isoformat()
        retraction = {"id": retraction_id, "reason": reason_code, "at": at}
        if entry is not None and entry.retraction:
            retraction = entry.retraction  # a redelivery: the state as first recorded
        new = corrections.retracted_entry(
            step,
            provider=provider,
            event_id=target,
            retraction=retraction,
            reached=reached,
            source=f"{source[0]}:{source[1]}:{source[2]}",
            at=at,
        )
        self._ledger.put(new)
        self._produce(EVENTS_TOPIC, new.to_json(), new.key(), [])
        return rows

    def _notify(
        self, row: AuditRecord, before: Reach, cause: str, reason_code: str, reason: str
    ) -> AuditRecord:
        """A retraction notice to ``row.recipient`` for what it was last sent (``before``),
        audited like a disclosure: outcome ``retracted``, linked to the event and revision
        it withdraws and naming the disclosure it withdraws."""
        recipient = row.recipient
        decision, notice = corrections.notice_ids(row.provider, row.event_id, cause, recipient)
        out = self._schemas.notice(recipient, row.event_type)
        record = {
            "notice_id": notice,
            "event_id": row.event_id,
            "event_type": row.event_type,
            "provider": row.provider,
            "revision": int(row.revision or 1),
            "reason_code": reason_code,
            "reason": reason,
            "withdraws": before[0],
            "issued_at": self._now_iso,
        }
        headers = disclosure_headers(
            notice,
            event_id=row.event_id,
            provider=row.provider,
            recipient=recipient,
            revision=int(record["revision"]),
            withdraws=before[0],
        )
        headers.append((NOTICE_HEADER, b"retraction"))
        if self._carry is None:
            inject_context(headers)
        else:
            headers.extend(self._carry)
        payload = wire.encode(out.schema_id, out.parsed, record)
        self._produce(out.topic, payload, notice.encode(), headers)
        self.stats.retracted[recipient] += 1
        self.stats.decisions += 1  # audited like any decision
        return dataclasses.replace(
            row,
            decision_id=decision,
            outcome=RETRACTED,
            reason=f"retraction notice withdrawing disclosure {before[0]}: {reason}",
            agreement_id=None,
            agreement_version=None,
            legal_basis=None,
            gateways=(),
            disclosure_id=notice,
            fields={},
            decided_at=self._now_iso,
            processor_instance=self._instance,
            output_topic=out.topic,
            notes=(),
            trace_id=self._trace_id,
        )

    def _verify_with_fresh_keys(self, msg: Message, rejected: UnknownSigner) -> str | InputRejected:
        """An unknown key may have been registered since the last reload: read the keys
        once per batch and verify again before dead-lettering the record."""
        if self._rules is None:
            return rejected
        if not self._keys_refreshed:
            self._keys_refreshed = True
            self._public_keys = self._rules.public_keys_now()
        return _signature_verdict(msg, self._public_keys)

    def _route(
        self,
        d: Decision,
        event: dict[str, Any],
        event_type: EventType,
        source: tuple[str, int, int],
        subjects: tuple[str, ...],
        revision: int = 1,
        digest: str | None = None,
        before: Reach | None = None,
        occurred_at: str | None = None,
    ) -> AuditRecord:
        """Decide one candidate recipient's record; ``before``: what the recipient was last
        sent of this event (a shared later revision is then an update that withdraws it);
        ``occurred_at``: when the event happened, worked out once per event."""
        output_topic: str | None = None
        fields: dict[str, dict[str, str]] = {}
        notes: tuple[str, ...] = ()
        plan = d.plan
        if d.shared and plan is not None:
            try:
                # The plan's field program: the transformer's output (hub/privacy/program.py).
                transformed = program.apply_with_notes(self._transformer, plan, event, event_type)
                record, notes = transformed.record, transformed.notes
                out = self._schemas.output(plan, event_type, d.recipient)
                payload = wire.encode(out.schema_id, out.parsed, record)
            except (TransformError, OutputSchemaRejected, ValueError, TypeError) as exc:
                d = Decision(
                    d.event_id,
                    d.event_type,
                    d.provider,
                    d.recipient,
                    Outcome.WITHHELD,
                    f"treatment failed under {d.agreement_id}@v{d.agreement_version}: {exc}",
                    d.agreement_id,
                    d.agreement_version,
                    content=d.content,
                )
            else:
                disclosure = d.disclosure_id or ""
                out_headers = disclosure_headers(
                    disclosure,
                    event_id=d.event_id,
                    provider=d.provider,
                    recipient=d.recipient,
                    agreement=f"{d.agreement_id}@v{d.agreement_version}",
                    revision=revision,
                    # An update: the sink replaces what it holds.
                    withdraws=None if before is None else str(before[0]),
                )
                # The recipient's sink continues this trace.
                if self._carry is None:
                    inject_context(out_headers)
                else:
                    out_headers.extend(self._carry)
                self._produce(out.topic, payload, disclosure.encode(), out_headers)
                output_topic = out.topic
                fields = self._audit_fields(plan)
                self.stats.shared[d.recipient] += 1
        if not d.shared:
            self.stats.withheld += 1
        self._count_decision(d)
        basis, gateways = (
            self._legal_basis(d.agreement_id, d.agreement_version)
            if d.agreement_id and d.agreement_version
            else (None, ())
        )
        return AuditRecord.of_decision(
            d,
            legal_basis=basis,
            gateways=gateways,
            decided_at=self._now_iso,
            instance=self._instance,
            source=source,
            fields=fields,
            output_topic=output_topic,
            notes=notes if d.shared else (),  # what a treatment that failed noted is moot
            trace_id=self._trace_id,
            subjects=subjects,
            content_digest=digest or d.content or None,
            revision=revision,
            occurred_at=occurred_at,
        )

    def _legal_basis(self, agreement_id: str, version: int) -> tuple[str | None, tuple[str, ...]]:
        """The legal basis summary and gateways the audit records, once per agreement."""
        key = (agreement_id, version)
        if key not in self._basis:
            a = self._agreements.get(key)
            self._basis[key] = (
                (a.legal_basis.summary(), a.legal_basis.gateways) if a else (None, ())
            )
        return self._basis[key]

    def _count_decision(self, d: Decision) -> None:
        self._batch_counts[(d.provider, d.recipient, d.agreement_id or "none", d.outcome)] += 1
        self.stats.decisions += 1

    def _publish_counts(self) -> None:
        """Metrics once per batch: a Prometheus increment takes a lock, and one per decision
        showed in profiles."""
        for key, n in self._batch_counts.items():
            counter = self._decision_counters.get(key)
            if counter is None:  # labels() costs more than the increment: resolve once
                provider, recipient, agreement, outcome = key
                counter = self._decision_counters[key] = self.metrics.decisions.labels(
                    provider, recipient, agreement, outcome.value
                )
            counter.inc(n)
        self._batch_counts.clear()
        for partner, n in self._batch_events.items():
            self.metrics.events_in.labels(partner).inc(n)
        self._batch_events.clear()

    def _audit_fields(self, plan: RecordPlan) -> dict[str, dict[str, str]]:
        """What the audit says of each shared field (clause, treatment): one per plan, not
        rebuilt per disclosure. Plans are cached by the engine; a reload brings new ones."""
        key = id(plan)
        cached = self._fields_by_plan.get(key)
        if cached is None or cached[0] is not plan:
            fields = plan.audit_fields()
            cached = self._fields_by_plan[key] = (plan, fields)
        return cached[1]

    # -- producing ----------------------------------------------------------------------

    def _produce(
        self, topic: str, value: bytes | None, key: bytes | None, headers: Headers
    ) -> None:
        """Stage an output of the record being decided (see ``_decide``). One over the
        producer's limit raises :class:`RecordTooLarge` now: the record is dead-lettered and
        none of its outputs is sent."""
        self._out.check(topic, value, key, headers)
        self._staged.append((topic, value, key, headers))


def _iso(when: datetime | None) -> str | None:
    """Event time for the audit (UTC ISO 8601), so reports say when it happened."""
    if when is None:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).isoformat()

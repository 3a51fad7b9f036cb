"""One batch loop under every component that reads Kafka.

poll (adaptive: what has arrived, else wait for the first record) -> the component's
handler -> offsets committed once what the handler produced is acknowledged. The
processor, the sinks, the audit ingester, the analytics intake, dead-letter replay and
the what-if reader all read through :class:`BatchLoop`; a component supplies only its
per-batch handler. Records of a batch are handed to the handler together and must all be
dealt with (shared, written, dead-lettered, skipped with a report): the loop advances past
every one of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field

from confluent_kafka import Consumer, KafkaError, Message

from hub.errors import BrokerUnavailable
from hub.kafka.offsets import Offsets
from hub.kafka.producer import CheckedProducer
from hub.kafka.records import next_batch
from hub.outage import LossRetry

log = logging.getLogger("hub.kafka")

Handler = Callable[[list[Message]], None]


@dataclass
class Batch:
    records: list[Message]
    ended: list[tuple[str, int]] = field(default_factory=list)  # partitions at their end


def sort_out(messages: Sequence[Message], name: str) -> Batch:
    """Records apart from the client's events: the end of a partition is noted; a topic
    that does not exist yet (a share topic before its first agreement, receipts before the
    first sink) is waited for; any other error is the broker's and stops the component."""
    batch = Batch([])
    for msg in messages:
        err = msg.error()
        if err is None:
            batch.records.append(msg)
        elif err.code() == KafkaError._PARTITION_EOF:
            batch.ended.append((msg.topic() or "", msg.partition() or 0))
        elif err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            log.debug("%s: %s", name, err)
        else:
            raise BrokerUnavailable(f"{name}: consumer error: {err}")
    return batch


@dataclass(eq=False)
class BatchLoop:
    """Poll, hand over, commit: see the module doc.

    ``commit=False`` for readers that keep no offsets (the analytics intake re-reads from
    the start; replay and the what-if read by assignment). ``transactional`` wraps each
    batch in a Kafka transaction (Apache Kafka only) with its offsets inside it.
    ``commit_wait``: wait for the broker's answer to each commit. By default the commit is
    sent once the batch's outputs are acknowledged and the next batch starts at once: a
    round trip per batch (0.2 ms on a quiet machine, tens of ms on a loaded one) that no
    output waits for (bench/README.md, "Latency budget").
    """

    consumer: Consumer
    _: KW_ONLY
    name: str
    size: int
    wait: float
    producer: CheckedProducer | None = None
    commit: bool = True
    transactional: bool = False
    commit_wait: bool = False
    offsets: Offsets = field(default_factory=Offsets, init=False)

    def __post_init__(self) -> None:
        if self.transactional:
            if self.producer is None:
                raise ValueError("a transactional loop needs a producer")
            self.producer.raw.init_transactions(30)

    def poll(self, wait: float | None = None) -> Batch:
        return sort_out(
            next_batch(self.consumer, self.size, self.wait if wait is None else wait), self.name
        )

    def handle(self, records: list[Message], handler: Handler) -> dict[tuple[str, int], int]:
        """Hand ``records`` to ``handler``, then commit past them once everything it
        produced is acknowledged. Returns the committed next offsets."""
        producer = self.producer
        if self.transactional and producer is not None:
            producer.raw.begin_transaction()
        try:
            handler(records)
            self.offsets.advance(records)
            done = self.offsets.next_offsets()
            if not self.commit:
                if producer is not None:
                    producer.flush_or_raise()
                return done
            if self.transactional and producer is not None:
                self.offsets.commit_in_transaction(self.consumer, producer)
            else:
                self.offsets.commit(self.consumer, producer, wait=self.commit_wait)
            return done
        except BaseException:
            self.offsets.forget()
            if self.transactional and producer is not None:
                producer.raw.abort_transaction()  # nothing of the batch becomes visible
            raise

    def run(
        self,
        handler: Handler,
        stop: threading.Event,
        *,
        until: Callable[[], bool] | None = None,
        between: Callable[[], None] | None = None,
        after: Callable[[dict[tuple[str, int], int]], None] | None = None,
        wait: float | None = None,
    ) -> None:
        """Until ``stop`` is set or ``until()`` holds. ``between`` runs before each poll
        (rule reloads: every record of a batch is handled under the same rules); ``after``
        runs after each committed batch with its offsets."""
        losses = LossRetry(self.name)  # a lost broker: rewind, back off, poll again
        while not stop.is_set() and not (until and until()):
            if between is not None:
                between()
            batch = Batch([])
            try:
                batch = self.poll(wait)
                if not batch.records:
                    continue
                done = self.handle(batch.records, handler)
            except Exception as exc:
                if not losses.recover(self.consumer, batch.records, exc, stop):
                    raise
                continue
            losses.succeeded()
            if after is not None:
                after(done)

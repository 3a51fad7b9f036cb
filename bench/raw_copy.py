"""(a) of the processor benchmark: a raw copy between topics with confluent-kafka, the
hub's own client settings and nothing else per record: the limit of the broker and client."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, Message, Producer

from hub.broker.client_config import consumer_config, producer_config

RAW_COPY_TOPIC = "bench.raw-copy.v1"
BATCH = 2000


def consume_until(
    consumer: Consumer,
    n: int,
    handle: Callable[[list[Message]], None],
    timeout: float,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Feed batches to ``handle`` until ``n`` records; ``clock`` seconds (wall-clock, or
    ``time.process_time`` for CPU) from the first record to the end of the last batch."""
    seen, first = 0, 0.0
    deadline = time.monotonic() + timeout
    while seen < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {seen} of {n} records consumed in {timeout:.0f}s")
        # Ask for no more than what is left, so the last batch does not wait out the timeout.
        batch = [m for m in consumer.consume(min(BATCH, n - seen), 0.5) if m.error() is None]
        if not batch:
            continue
        if not first:
            first = clock()
        handle(batch)
        seen += len(batch)
    return clock() - first


def produce(producer: Producer, topic: str, value: Any, key: Any, headers: Any) -> None:
    """Produce one record, letting deliveries drain while the local queue is full."""
    while True:
        try:
            producer.produce(topic, value=value, key=key, headers=headers)
            return
        except BufferError:
            producer.poll(0.05)


def raw_copy(bootstrap: str, topic: str, n: int) -> float:
    consumer = Consumer(consumer_config(bootstrap, f"bench-raw-{time.time_ns()}"))
    producer = Producer(producer_config(bootstrap))
    consumer.subscribe([topic])

    def copy(batch: list[Message]) -> None:
        for m in batch:
            produce(producer, RAW_COPY_TOPIC, m.value(), m.key(), m.headers())
        if producer.flush(30):
            raise RuntimeError("raw copy: records not acknowledged")

    try:
        seconds = consume_until(consumer, n, copy, timeout=120)
    finally:
        consumer.close()
    return n / seconds

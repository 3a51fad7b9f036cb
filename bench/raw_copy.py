"""(a) of the processor benchmark: a raw copy between topics with confluent-kafka, the
hub's own client settings and nothing else per record: the limit of the broker and client."""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import Consumer, Message, Producer

from hub.broker.client_config import consumer_config, producer_config

RAW_COPY_TOPIC = "bench.raw-copy.v1"
BATCH = 2000


def consume_until(
    consumer: Consumer, n: int, handle: Callable[[list[Message]], None], timeout: float
) -> float:
    """Feed batches to ``handle`` until ``n`` records; seconds from first record to the end
    of the last batch."""
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
            first = time.perf_counter()
        handle(batch)
        seen += len(batch)
    return time.perf_counter() - first


def raw_copy(bootstrap: str, topic: str, n: int) -> float:
    consumer = Consumer(consumer_config(bootstrap, f"bench-raw-{time.time_ns()}"))
    producer = Producer(producer_config(bootstrap))
    consumer.subscribe([topic])

    def copy(batch: list[Message]) -> None:
        for m in batch:
            while True:
                try:
                    producer.produce(
                        RAW_COPY_TOPIC,
                        value=m.value(),
                        key=m.key(),
                        headers=m.headers(),  # type: ignore[arg-type]
                    )
                    break
                except BufferError:
                    producer.poll(0.05)
        if producer.flush(30):
            raise RuntimeError("raw copy: records not acknowledged")

    try:
        seconds = consume_until(consumer, n, copy, timeout=120)
    finally:
        consumer.close()
    return n / seconds

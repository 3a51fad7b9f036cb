"""End-to-end latency at a steady rate: a paced, signed producer on the partner topic and a
consumer on the recipient topics, while the hub processor runs.

Every input carries a ``bench.sent_ns`` header (wall clock at produce). The hub does not
copy input headers to its outputs (it writes its own: disclosure id, event id...), so the
receiving side finds each output's send time by its ``hub.event_id`` header, through the
same table the producer filled. Latency = receive time - send time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, Producer

from connectors.sources.publisher import PartnerPublisher
from hub.broker.client_config import consumer_config, producer_config
from hub.broker.records import header
from hub.identity.keys import SigningKey
from hub.identity.signing import sign

SENT_HEADER = "bench.sent_ns"


@dataclass(frozen=True)
class Latency:
    rate: int
    seconds: float
    sent: int
    samples: int
    drained: bool
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    idx = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[idx]


def measure(
    *,
    bootstrap: str,
    publisher: PartnerPublisher,
    signer: SigningKey,
    events: Sequence[dict[str, Any]],
    recipient_topics: Sequence[str],
    caught_up: Callable[[int], bool],
    rate: int = 2000,
    warmup: float = 1.0,
    max_drain: float = 45.0,
) -> Latency:
    """Publish ``events`` at ``rate``/s and time each disclosure from send to receipt.

    Records sent in the first ``warmup`` seconds are left out of the percentiles. After the
    last send it waits until ``caught_up(sent)`` (the processor has consumed them all) or
    ``max_drain`` seconds, so a processor slower than ``rate`` shows its backlog in the
    percentiles instead of having its slowest records cut off."""
    topic = publisher.topic
    # Serialise and sign before the clock starts: the pacing loop only produces.
    prepared = []
    for e in events:
        key = str(e["envelope"]["event_id"]).encode()
        value = publisher.serialize(e)
        prepared.append((key, value, sign(signer, topic, key, value)))

    sent_at: dict[str, int] = {}
    received: list[float] = []
    assigned = threading.Event()
    stop = threading.Event()
    counting_from = [0]  # wall-clock ns after which sends are counted (set at start)

    def receive() -> None:
        c = Consumer(consumer_config(bootstrap, f"bench-latency-{time.time_ns()}"))
        c.subscribe(list(recipient_topics), on_assign=lambda _c, _p: assigned.set())
        try:
            while not stop.is_set():
                for m in c.consume(1000, 0.05):
                    now = time.time_ns()
                    if m.error() is not None:
                        continue
                    event_id = header(m, "hub.event_id")
                    sent = sent_at.get(event_id or "")
                    if sent is not None and sent >= counting_from[0]:
                        received.append((now - sent) / 1e6)
        finally:
            c.close()

    thread = threading.Thread(target=receive, name="bench-latency-consumer", daemon=True)
    thread.start()
    assigned.wait(30)

    producer = Producer(producer_config(bootstrap))
    start = time.perf_counter()
    counting_from[0] = time.time_ns() + int(warmup * 1e9)
    for i, (key, value, headers) in enumerate(prepared):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        now_ns = time.time_ns()
        sent_at[key.decode()] = now_ns
        while True:
            try:
                producer.produce(
                    topic,
                    value=value,
                    key=key,
                    headers=[*headers, (SENT_HEADER, str(now_ns).encode())],  # type: ignore[arg-type]
                )
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    seconds = time.perf_counter() - start
    producer.flush(30)
    deadline = time.monotonic() + max_drain
    while not caught_up(len(prepared)) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the last disclosures reach the consumer
    stop.set()
    thread.join(10)
    values = sorted(received)
    return Latency(
        rate=rate,
        seconds=seconds,
        sent=len(prepared),
        samples=len(values),
        drained=caught_up(len(prepared)),
        p50_ms=_percentile(values, 0.50) if values else None,
        p99_ms=_percentile(values, 0.99) if values else None,
        max_ms=values[-1] if values else None,
    )

"""End-to-end latency at a steady rate: a paced, signed producer on the partner topic and a
consumer on the recipient topics, while the hub processor runs.

The load runs in a child process (``python -m bench.latency``), as a partner's connector
and a recipient's sink would: inside the benchmark process, their threads took the GIL from
the processor being measured thousands of times a second.

What is timed is partner topic -> recipient topic, so the recipient's end adds no wait of
its own: its consumer is configured as a latency-sensitive sink is, with the hub's short
fetch wait (``FETCH_WAIT_MS``, hub/kafka/config.py, which the hub's sinks use), and stamps
each record as it arrives. The partner's producer is a connector's (the hub's producer
settings, as the SDK's): its linger of up to 5 ms before a record is on the topic is in
the figure. Sending sooner (``linger.ms`` 0, or a flush after each tick's burst) spreads
the same records over more, smaller batches on the partner topic, which the embedded
broker handles less well: p50 at 2,000/s in runs within one hour, linger 5: 73, 90, 102,
884, 1,909 ms; linger 1: 125, 270; linger 0: 572, 642; a flush per burst: 451, 2,370
(bench/README.md "Latency budget").

Every input carries a ``bench.sent_ns`` header (wall clock at produce). The hub does not
copy input headers to its outputs (it writes its own: disclosure id, event id...), so the
receiving side finds each output's send time by its ``hub.event_id`` header, through the
same table the producer filled. Latency = receive time - send time.

Protocol with the parent: the child prints ``ready`` once its consumer has its partitions,
``sent N`` after the last send, then waits for a line on stdin (the parent writes one when
the processor has consumed everything, or gives up) and prints the result as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from confluent_kafka import Consumer, Producer

SENT_HEADER = "bench.sent_ns"
TICK = 0.005  # seconds between bursts of sends
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Latency:
    rate: int
    seconds: float
    sent: int
    samples: int
    drained: bool
    # Input not yet consumed by the processor when the last record was sent: more than
    # half a second of it means the processor ran below the offered rate (queueing).
    backlog: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None

    @property
    def saturated(self) -> bool:
        """The processor fell behind the offered rate: the percentiles measure queueing."""
        return self.backlog > self.rate / 2 or not self.drained


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    idx = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[idx]


def measure(
    *,
    bootstrap: str,
    registry_url: str,
    data_dir: Path,
    seed: int,
    recipient_topics: Sequence[str],
    consumed: Callable[[], int],
    rate: int = 2000,
    seconds: float = 12.0,
    warmup: float = 1.0,
    max_drain: float = 45.0,
    dump: Path | None = None,
) -> Latency:
    """Publish ``rate * seconds`` PoliceFeed(seed) events at ``rate``/s from a child process
    and time each disclosure from send to receipt.

    ``consumed()`` is how many records the processor has consumed since the phase began.
    Records sent in the first ``warmup`` seconds are left out of the percentiles. After the
    last send it waits until the processor has consumed them all or
    ``max_drain`` seconds, so a processor slower than ``rate`` shows its backlog in the
    percentiles instead of having its slowest records cut off. ``seed`` must differ from
    any feed already published, so no event id is shared with earlier outputs."""
    cmd = [
        sys.executable,
        "-m",
        "bench.latency",
        "--bootstrap",
        bootstrap,
        "--registry",
        registry_url,
        "--data-dir",
        str(data_dir),
        "--seed",
        str(seed),
        "--rate",
        str(rate),
        "--seconds",
        str(seconds),
        "--warmup",
        str(warmup),
        "--topics",
        ",".join(recipient_topics),
        *(["--dump", str(dump)] if dump is not None else []),
    ]
    child = subprocess.Popen(
        cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        _expect(child.stdout, "ready")
        sent = int(_expect(child.stdout, "sent"))
        backlog = max(0, sent - consumed())
        deadline = time.monotonic() + max_drain
        while consumed() < sent and time.monotonic() < deadline:
            time.sleep(0.1)
        drained = consumed() >= sent
        child.stdin.write("drained\n")
        child.stdin.flush()
        out, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if child.returncode != 0:
        raise RuntimeError(f"latency load generator failed (exit {child.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    return Latency(**{**result, "drained": drained, "backlog": backlog})


def _expect(stream: IO[str], word: str) -> str:
    """The rest of the next line that starts with ``word``; the child's other output is
    passed through."""
    for line in stream:
        if line.startswith(word):
            return line[len(word) :].strip() or word
        sys.stderr.write(line)
    raise RuntimeError(f"latency load generator ended before '{word}'")


# -- the child ---------------------------------------------------------------------------


def run_load(
    *,
    bootstrap: str,
    topic: str,
    prepared: Sequence[tuple[bytes, bytes, list[tuple[str, bytes]]]],
    recipient_topics: Sequence[str],
    rate: int,
    warmup: float,
    wait_drained: Callable[[int], None],
    dump: Path | None = None,
) -> dict[str, Any]:
    """Send ``prepared`` (key, value, signature headers) at ``rate``/s and time receipts.
    ``dump``: a file for each counted receipt's event id, send and receive time (ns), one
    JSON array a line, which bench/latency_budget.py joins with the processor's timings."""
    from hub.kafka.config import FETCH_WAIT_MS, consumer_config, producer_config
    from hub.kafka.records import header, next_batch

    sent_at: dict[str, int] = {}
    received: list[float] = []
    receipts: list[tuple[str, int, int]] = []
    assigned = threading.Event()
    stop = threading.Event()
    counting_from = [0]  # wall-clock ns after which sends are counted (set at start)

    def receive() -> None:
        group = f"bench-latency-{time.time_ns()}"
        c = Consumer(consumer_config(bootstrap, group, **{"fetch.wait.max.ms": FETCH_WAIT_MS}))
        c.subscribe(list(recipient_topics), on_assign=lambda _c, _p: assigned.set())
        try:
            while not stop.is_set():
                # Stamped as they arrive: a plain consume(1000, 0.05) held records until the
                # 50 ms were over, which added up to 50 ms to every sample.
                batch = next_batch(c, 1000, 0.05)
                now = time.time_ns()
                for m in batch:
                    if m.error() is not None:
                        continue
                    event_id = header(m, "hub.event_id")
                    sent = sent_at.get(event_id or "")
                    if sent is not None and sent >= counting_from[0]:
                        received.append((now - sent) / 1e6)
                        receipts.append((event_id or "", sent, now))
        finally:
            c.close()

    thread = threading.Thread(target=receive, name="bench-latency-consumer", daemon=True)
    thread.start()
    assigned.wait(30)
    print("ready", flush=True)

    producer = Producer(producer_config(bootstrap))
    start = time.perf_counter()
    counting_from[0] = time.time_ns() + int(warmup * 1e9)
    for i, (key, value, headers) in enumerate(prepared):
        delay = start + i / rate - time.perf_counter()
        # Sends go out in ticks of at most TICK rather than one sleep per record; each
        # record's clock starts when it is actually sent, so a tick adds nothing unfair.
        if delay > 0:
            time.sleep(max(delay, TICK))
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
    wait_drained(len(prepared))
    time.sleep(1.0)  # the last disclosures reach the consumer
    stop.set()
    thread.join(10)
    values = sorted(received)
    if dump is not None:
        dump.write_text("".join(json.dumps(r) + "\n" for r in receipts))
    return {
        "rate": rate,
        "seconds": seconds,
        "sent": len(prepared),
        "samples": len(values),
        "p50_ms": _percentile(values, 0.50) if values else None,
        "p99_ms": _percentile(values, 0.99) if values else None,
        "max_ms": values[-1] if values else None,
    }


def main(argv: list[str] | None = None) -> int:
    from bench.processor import publisher_for
    from connectors.synthetic.police import PARTNER, PoliceFeed
    from hub.config import Settings
    from hub.identity.signing import sign
    from hub.processor.build import partner_keys

    parser = argparse.ArgumentParser(description="latency load generator (bench/processor.py)")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--rate", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--topics", required=True)
    parser.add_argument("--dump", type=Path, default=None)
    args = parser.parse_args(argv)
    settings = Settings(data_dir=Path(args.data_dir))
    publisher = publisher_for(settings, args.bootstrap, args.registry)
    signer = partner_keys(settings).dev_signing_key(PARTNER)
    # Serialise and sign before the clock starts: the pacing loop only produces.
    prepared = []
    for e in PoliceFeed(seed=args.seed).events(int(args.rate * args.seconds)):
        key = str(e["envelope"]["event_id"]).encode()
        value = publisher.serialize(e)
        prepared.append((key, value, sign(signer, publisher.topic, key, value)))

    def wait_drained(n: int) -> None:
        print(f"sent {n}", flush=True)
        sys.stdin.readline()  # the parent's word that the processor has caught up

    result = run_load(
        bootstrap=args.bootstrap,
        topic=publisher.topic,
        prepared=prepared,
        recipient_topics=args.topics.split(","),
        rate=args.rate,
        warmup=args.warmup,
        wait_drained=wait_drained,
        dump=args.dump,
    )
    publisher.close()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

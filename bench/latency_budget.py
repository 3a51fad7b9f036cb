"""Where a record waits between a partner's produce and a recipient's consume: the budget.

``python -m bench.latency_budget [--rates 200,2000] [--seconds 8] [--json]``

One embedded broker and registry (bench/infra.py), a hub processor built as ``hub process``
builds it (``build_processor``, signature helper process included) running on a thread, and
the latency load generator of bench/latency.py in a child process: a paced, signed partner
producer and a recipient consumer on every share topic. The processor's own calls are
timed from outside (wrappers on this instance only, wall clock in ns, the clock the child
stamps with), and each recipient's receipt is joined to them by the event id:

- ``to_processor``: send -> the processor's poll returns the record. Split in two:
  ``transport`` is this wait for the records the processor was already waiting for (its
  poll blocked until they came): the partner producer's linger, the broker's append, the
  processor consumer's fetch round, nothing else; ``queued`` is, for the records that were
  already in the client's queue when the processor came back from earlier batches, their
  wait beyond the median transport (the time they spent behind those batches);
- ``verify_wait``: the batch's wait for its first signature verdicts (the helper process's
  round trip), before any record of it can be decided;
- ``decide``: poll return -> this record decided (the verify wait and every record before
  it in the batch);
- ``rest_of_batch``: this record decided -> its batch's flush begins (the records after it,
  the audit chunk);
- ``flush``: the batch's flush (every output and audit record acknowledged by the broker);
- ``to_recipient``: flush end -> the recipient's consumer has it (its fetch round; can be
  below zero when the output was delivered before the whole flush was);
- ``commit``: the batch's offset commit, after the flush: it does not delay this batch's
  outputs, but the next batch waits for it (it shows in the next records' queued);
- ``between_batches``: the previous batch's commit end -> this batch's poll (the loop's own
  work between batches: rule reload check, metrics, the heap policy).

Each is reported as p50, p99 and mean over the counted receipts (one per disclosure), with
the end-to-end figure they add up to. Machine load (``os.getloadavg``) is printed with it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Consumer, Message

from bench.infra import hub_for_bench
from bench.latency import measure
from hub.kafka.offsets import Offsets
from hub.kafka.producer import CheckedProducer
from hub.processor import Processor, build_processor

SEED = 9100  # a feed of its own: no event id matches an earlier output
PARTS = (
    "to_processor",
    "transport",
    "queued",
    "verify_wait",
    "decide",
    "rest_of_batch",
    "flush",
    "to_recipient",
    "end_to_end",
    "commit",
    "between_batches",
)


@dataclass
class BatchTimes:
    poll_start: int
    poll_end: int = 0
    first_verdict: int = 0
    flush_start: int = 0
    flush_end: int = 0
    commit_end: int = 0
    size: int = 0
    waited: bool = False  # nothing was queued when the poll began: it waited for the first


@dataclass
class Timings:
    """What the wrapped processor saw, by event id (the record key)."""

    batches: list[BatchTimes] = field(default_factory=list)
    batch_of: dict[str, BatchTimes] = field(default_factory=dict)
    decided: dict[str, int] = field(default_factory=dict)

    def clear(self) -> None:
        self.batches.clear()
        self.batch_of.clear()
        self.decided.clear()


class ConsumeSpy:
    """The processor's consumer, noting whether a poll's first ``consume`` found anything
    queued (hub.kafka.records.next_batch asks for what has arrived first)."""

    def __init__(self, consumer: Consumer) -> None:
        self._consumer = consumer
        self.calls = 0
        self.first_empty = False

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Message]:
        got = self._consumer.consume(num_messages, timeout)
        if self.calls == 0:
            self.first_empty = not got
        self.calls += 1
        return got

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consumer, name)


def instrument(processor: Processor, timings: Timings) -> None:
    """Wall-clock stamps around the processor's poll, verdicts, decisions, flush, commit."""
    loop = processor._loop
    spy = ConsumeSpy(loop.consumer)
    loop.consumer = spy  # type: ignore[assignment]
    poll = loop.poll

    def timed_poll(wait: float | None = None) -> Any:
        current = BatchTimes(time.time_ns())
        spy.calls = 0
        batch = poll(wait)
        current.poll_end = time.time_ns()
        current.waited = spy.first_empty
        if batch.records:
            current.size = len(batch.records)
            timings.batches.append(current)
            for msg in batch.records:
                key = msg.key()
                if key is not None:
                    timings.batch_of[key.decode()] = current
        return batch

    setattr(loop, "poll", timed_poll)  # noqa: B010 - timing hook on this instance

    verifier = processor._verifier
    verdicts = verifier.verdicts

    def timed_verdicts(records: list[Message], keys: Any) -> Iterator[Any]:
        current = timings.batches[-1] if timings.batches else None
        it = verdicts(records, keys)
        first = True
        for verdict in it:
            if first and current is not None:
                current.first_verdict = time.time_ns()
            first = False
            yield verdict

    setattr(verifier, "verdicts", timed_verdicts)  # noqa: B010

    one = processor._one

    def timed_one(msg: Message, *args: Any) -> Any:
        result = one(msg, *args)
        key = msg.key()
        if key is not None:
            timings.decided[key.decode()] = time.time_ns()
        return result

    setattr(processor, "_one", timed_one)  # noqa: B010

    out: CheckedProducer = processor._out
    flush = out.flush_or_raise

    def timed_flush(timeout: float = 30.0) -> None:
        current = timings.batches[-1] if timings.batches else None
        if current is not None:
            current.flush_start = time.time_ns()
        flush(timeout)
        if current is not None:
            current.flush_end = time.time_ns()

    setattr(out, "flush_or_raise", timed_flush)  # noqa: B010

    class TimedOffsets(Offsets):
        def commit(
            self, consumer: Consumer, producer: CheckedProducer | None, *, wait: bool = True
        ) -> None:
            super().commit(consumer, producer, wait=wait)
            if timings.batches:
                timings.batches[-1].commit_end = time.time_ns()

    loop.offsets = TimedOffsets()


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "mean": None}
    v = sorted(values)

    def q(p: float) -> float:
        return round(v[min(len(v) - 1, max(0, round(p * (len(v) - 1))))], 2)

    return {"p50": q(0.50), "p99": q(0.99), "mean": round(sum(v) / len(v), 2)}


def budget(receipts: list[tuple[str, int, int]], timings: Timings) -> dict[str, Any]:
    """Each wait of each receipt, in ms, summarised (see the module doc)."""
    parts: dict[str, list[float]] = {name: [] for name in PARTS}
    ms = 1e-6
    joined = []
    for event_id, sent, received in receipts:
        b = timings.batch_of.get(event_id)
        decided = timings.decided.get(event_id)
        if b is not None and decided is not None and b.flush_end:
            joined.append((sent, received, b, decided))
    # A poll that found nothing queued returned as its first record came.
    waited = [(b.poll_end - sent) * ms for sent, _r, b, _d in joined if b.waited]
    transport = sorted(waited)[len(waited) // 2] if waited else 0.0
    parts["transport"] = waited
    for sent, received, b, decided in joined:
        to_processor = (b.poll_end - sent) * ms
        parts["to_processor"].append(to_processor)
        if not b.waited:
            parts["queued"].append(max(0.0, to_processor - transport))
        parts["verify_wait"].append(max(0, b.first_verdict - b.poll_end) * ms)
        parts["decide"].append((decided - b.poll_end) * ms)
        parts["rest_of_batch"].append((b.flush_start - decided) * ms)
        parts["flush"].append((b.flush_end - b.flush_start) * ms)
        parts["to_recipient"].append((received - b.flush_end) * ms)
        parts["end_to_end"].append((received - sent) * ms)
        if b.commit_end:
            parts["commit"].append((b.commit_end - b.flush_end) * ms)
    batches = timings.batches
    for before, b in itertools.pairwise(batches):
        if before.commit_end:
            parts["between_batches"].append((b.poll_start - before.commit_end) * 1e-6)
    sizes = [b.size for b in batches]
    return {
        "samples": len(parts["end_to_end"]),
        "arrived_while_waiting": round(len(waited) / len(joined), 3) if joined else None,
        "batches": len(sizes),
        "batch_size_mean": round(sum(sizes) / len(sizes), 1) if sizes else None,
        **{name: _stats(values) for name, values in parts.items()},
    }


def _consumed_since(processor: Processor, base: int) -> int:
    return processor.stats.consumed - base


def run(rates: list[int], seconds: float) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with hub_for_bench("hub-latency-budget-") as hub:
        group = f"bench-budget-{time.time_ns()}"
        processor = build_processor(
            hub.settings.model_copy(update={"consumer_group": group}),
            bootstrap=hub.broker.bootstrap,
            registry_url=hub.registry_url,
        )
        timings = Timings()
        instrument(processor, timings)
        stop = threading.Event()
        errors: list[BaseException] = []

        def drive() -> None:
            try:
                processor.run(stop)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=drive, name="bench-budget-hub", daemon=True)
        thread.start()
        try:
            for i, rate in enumerate(rates):
                timings.clear()
                base = processor.stats.consumed
                with tempfile.NamedTemporaryFile(suffix=".jsonl") as dump:
                    lat = measure(
                        bootstrap=hub.broker.bootstrap,
                        registry_url=hub.registry_url,
                        data_dir=hub.settings.data_dir,
                        seed=SEED + i,
                        recipient_topics=hub.outputs,
                        consumed=partial(_consumed_since, processor, base),
                        rate=rate,
                        seconds=seconds,
                        dump=Path(dump.name),
                    )
                    receipts = [
                        tuple(json.loads(line)) for line in Path(dump.name).read_text().splitlines()
                    ]
                if errors:
                    raise errors[0]
                results.append(
                    {
                        "rate": rate,
                        "saturated": lat.saturated,
                        "load_average": [round(x, 2) for x in os.getloadavg()],
                        **budget(receipts, timings),  # type: ignore[arg-type]
                    }
                )
        finally:
            stop.set()
            thread.join(30)
            processor.close()
    return results


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['rate']}/s: {result['samples']} receipts, {result['batches']} batches "
        f"(mean {result['batch_size_mean']} records), {result['arrived_while_waiting']} of "
        f"receipts arrived while the processor waited, load {result['load_average']}"
        + (" SATURATED" if result["saturated"] else ""),
        f"  {'wait (ms)':<16}{'p50':>9}{'p99':>9}{'mean':>9}",
    ]
    for name in PARTS:
        s = result[name]
        cells = "".join(f"{'-' if s[k] is None else s[k]:>9}" for k in ("p50", "p99", "mean"))
        lines.append(f"  {name:<16}{cells}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="latency budget (see the module doc)")
    parser.add_argument("--rates", default="200,2000", help="events/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = run([int(r) for r in args.rates.split(",")], args.seconds)
    for r in results:
        print(table(r), file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

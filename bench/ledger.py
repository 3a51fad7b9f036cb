"""CPU cost of the events ledger's stores (hub/processor/ledger_store.py), per entry.

Over N entries (default 200,000; 46% of them with a recipient, as bench/memory.py's
events are), for the in-memory dicts and the on-disk SQLite store alike:

- ``load``: the topic's entries taken at start (``EventLedger._take``: parse, check, merge);
- ``tail_own``: this instance's own entries coming back in the tail (the last batches);
- ``miss``: ``entry()`` of an id never seen (a new event: most calls);
- ``hit``: ``entry()`` of an id in the ledger, past the recent writes;
- ``put_commit``: ``begin``, ``entry`` + ``put`` of 2,000 new events, ``commit``
  (per event, the ``entry`` included: what the processor does for each new event).

CPU time of this thread (``time.thread_time``), so other work on the machine does not count.

Usage: ``.venv/bin/python bench/ledger.py [--entries 200000] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `hub` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.processor.ledger import EventLedger, LedgerEntry
from hub.processor.ledger_store import LedgerStore, open_store

PROVIDER = "merseyside-police"
BATCH = 2_000
SHARED = 0.46  # of bench/memory.py's events, the share with a recipient


def entry(i: int, rng: random.Random) -> LedgerEntry:
    digest = rng.randbytes(32).hex()
    eid = f"a7e0c1d2-0000-4000-8000-{i:012d}"
    at, source = "2026-12-05T16:53:53.833096+00:00", f"partner.p.safeguarding-concern.v1:5:{i}"
    if rng.random() >= SHARED:
        return LedgerEntry(PROVIDER, eid, digest, source, at, revision=1)
    return LedgerEntry(
        PROVIDER,
        eid,
        digest,
        source,
        at,
        revision=1,
        event_type="safeguarding-concern",
        reached={"liverpool-mash": [f"85912dfe-2d6b-54c0-9402-{i:012d}", 1, True]},
    )


class Records:
    def __init__(self, records: list[tuple[bytes | None, bytes | None]]) -> None:
        self.records = records

    def initial(self) -> Iterable[tuple[bytes | None, bytes | None]]:
        return self.records

    def more(self) -> Iterable[tuple[bytes | None, bytes | None]]:
        out, self.records = self.records, []
        return out


def cpu_us(n: int, fn: Callable[[], object]) -> float:
    started = time.thread_time()
    fn()
    return (time.thread_time() - started) * 1e6 / n


def measure(kind: str, n: int, data_dir: Path) -> dict[str, float]:
    rng = random.Random(7)
    entries = [entry(i, rng) for i in range(n)]
    records: list[tuple[bytes | None, bytes | None]] = [(e.key(), e.to_json()) for e in entries]
    store: LedgerStore = open_store(kind, data_dir, "bench")  # type: ignore[arg-type]
    source = Records([])
    ledger = EventLedger(source, refresh_every=0, store=store)
    out: dict[str, float] = {}
    out["load"] = cpu_us(n, lambda: ledger._take(records))
    assert len(ledger) == n

    fresh = [entry(n + i, rng) for i in range(20 * BATCH)]

    def put_commit() -> None:
        for start in range(0, len(fresh), BATCH):
            ledger.begin()
            for e in fresh[start : start + BATCH]:
                ledger.entry(e.provider, e.event_id)
                ledger.put(e)
            ledger.commit()

    out["put_commit"] = cpu_us(len(fresh), put_commit)
    # The last batches' own entries come back in the tail.
    own: list[tuple[bytes | None, bytes | None]] = [
        (e.key(), e.to_json()) for e in fresh[-4 * BATCH :]
    ]
    source.records = own
    out["tail_own"] = cpu_us(len(own), ledger.refresh)

    misses = [f"never-{i}" for i in range(50_000)]
    out["miss"] = cpu_us(len(misses), lambda: [ledger.entry(PROVIDER, m) for m in misses])
    sample = rng.sample(entries, 50_000)
    out["hit"] = cpu_us(len(sample), lambda: [ledger.entry(PROVIDER, e.event_id) for e in sample])
    ledger.close()
    return {k: round(v, 2) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="events ledger stores, CPU µs per entry")
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result: dict[str, object] = {"entries": args.entries}
    with tempfile.TemporaryDirectory(prefix="hub-ledger-bench-") as tmp:
        for kind in ("memory", "disk"):
            figures = result[kind] = measure(kind, args.entries, Path(tmp))
            line = "  ".join(f"{k} {v} µs" for k, v in figures.items())
            print(f"{kind:>6}: {line}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

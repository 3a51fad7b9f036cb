"""Memory over a long run: the resident set of ``hub process`` (the processor and its
signature helper, as deployed: a child process of its own) at each tenth of N events,
and the growth of its peak from the first tenth to the end (issue 17: under 5% over
500,000 events).

Events are published from this process in slices while the processor runs, never more than
two slices ahead of what it has committed, so the broker (in memory) is not asked to hold
the whole run before the processor starts, and the publisher's own memory is not the
processor's. The embedded broker's memory storage stalls past about 700,000 records.

Usage: ``.venv/bin/python bench/memory.py [--events 500000] [--json]``; ``bench/processor.py
--rss-events N`` runs the same and puts the figures in its JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Consumer

from bench import cpu
from bench.infra import PARTITIONS, hub_for_bench
from bench.scaling import committed, hub_processes
from connectors.synthetic.police import PoliceFeed
from hub.broker.client_config import consumer_config

SLICE = 20_000
STALL_SECONDS = 120.0  # nothing committed for this long: the broker has stalled


@dataclass
class Memory:
    events: int
    done: list[int]  # events committed at each sample (each tenth of the run)
    rss_mb: list[float]  # VmRSS of the processor and its helper then
    peak_mb: list[float]  # VmHWM (peak so far) of the processor and its helper then

    @property
    def growth_pct(self) -> float:
        """Growth of the peak from the first tenth to the end, percent."""
        return growth_pct(self.peak_mb)


def growth_pct(series: list[float]) -> float:
    if len(series) < 2 or series[0] <= 0:
        return float("nan")
    return 100 * (series[-1] - series[0]) / series[0]


def figures(mem: Memory | None) -> dict[str, object]:
    """The JSON keys bench/processor.py reports (``None`` when not run)."""
    if mem is None:
        return dict.fromkeys(("rss_events", "rss_mb_10pct", "rss_mb_100pct", "rss_growth_pct"))
    return {
        "rss_events": mem.events,
        "rss_mb_10pct": round(mem.peak_mb[0], 1),
        "rss_mb_100pct": round(mem.peak_mb[-1], 1),
        "rss_growth_pct": round(mem.growth_pct, 2),
        "rss_mb_by_tenth": [round(m, 1) for m in mem.rss_mb],
    }


def measure(n: int, say: Callable[[str], None]) -> Memory:
    """``hub process`` over ``n`` events on a broker of its own; RSS at each tenth."""
    mem = Memory(n, [], [], [])
    with hub_for_bench("hub-mem-") as hub:
        group = f"bench-mem-{time.time_ns()}"
        watcher = Consumer(consumer_config(hub.broker.bootstrap, group))
        progress = [0, 0]  # published, committed
        failed: list[BaseException] = []

        def publish() -> None:
            feed = PoliceFeed(seed=11)
            try:
                while progress[0] < n:
                    k = min(SLICE, n - progress[0])
                    for e in feed.events(k):
                        hub.publisher.publish(e)
                    hub.publisher.flush(120)
                    progress[0] += k
                    while progress[0] - progress[1] > 2 * SLICE:
                        time.sleep(0.2)
            except BaseException as exc:
                failed.append(exc)

        try:
            with hub_processes(
                instances=1,
                bootstrap=hub.broker.bootstrap,
                registry_url=hub.registry_url,
                data_dir=hub.settings.data_dir,
                group=group,
            ) as (proc,):
                threading.Thread(target=publish, name="bench-mem-publish", daemon=True).start()
                _follow(proc.proc.pid, proc.check, watcher, hub.topic, n, mem, progress, say)
                if failed:
                    raise failed[0]
        finally:
            watcher.close()
            hub.publisher.close()
    return mem


def _follow(
    pid: int,
    check: Callable[[], None],
    watcher: Consumer,
    topic: str,
    n: int,
    mem: Memory,
    progress: list[int],
    say: Callable[[str], None],
) -> None:
    """Sample the processor's memory at each tenth of ``n`` committed events."""
    step = max(1, n // 10)
    mark, moved = step, time.monotonic()
    while progress[1] < n:
        check()
        done = committed(watcher, topic, PARTITIONS)
        if done > progress[1]:
            progress[1], moved = done, time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS:
            raise TimeoutError(
                f"nothing committed for {STALL_SECONDS:.0f} s at {done:,} of {n:,} events "
                "(the embedded broker's memory storage stalls past about 700,000 records)"
            )
        while done >= mark and mark <= n:
            mem.done.append(done)
            mem.rss_mb.append(cpu.tree_mb(pid, "VmRSS"))
            mem.peak_mb.append(cpu.tree_mb(pid, "VmHWM"))
            say(f"{done:>10,} events  RSS {mem.rss_mb[-1]:7.1f} MB  peak {mem.peak_mb[-1]:7.1f} MB")
            mark += step
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="hub process memory over a long run")
    parser.add_argument("--events", type=int, default=500_000, help="input events (500000)")
    parser.add_argument("--json", action="store_true", help="one JSON object on the last line")
    args = parser.parse_args(argv)

    def say(msg: str) -> None:  # as it goes, on stderr: a stopped run still shows its trend
        print(msg, file=sys.stderr, flush=True)

    mem = measure(args.events, say)
    result = {**asdict(mem), **figures(mem)}
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"peak RSS of hub process + helper: {result['rss_mb_10pct']} MB at the first tenth, "
            f"{result['rss_mb_100pct']} MB at the end ({result['rss_growth_pct']}%)"
        )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HUB_TRACING", "none")
    sys.exit(main())

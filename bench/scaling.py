"""Consumer-group scaling: the same events through one ``hub process``, then two, then
three, each a process of its own, in a consumer group of its own, on the same broker.

Throughput is read from the group's committed offsets on the partner topic (the processor
commits only after a batch is fully acknowledged), from the first commit to the last, so
process start-up and the group join are left out of every run alike.

CPU per event is each process's and its signature helper's /proc utime + stime from the
moment that process says it is consuming (its first line on stdout, printed after start-up:
imports, agreements, schemas, the helper) to the group's last commit, summed over the
processes, over every event the group consumed. Start-up is ~1.3 s of CPU a process here,
as much as several thousand events: counted from the group's first commit instead, a
process that started late (three starting at once on two busy cores) would add its
start-up to the group's CPU per event.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from bench import cpu
from hub.broker.client_config import consumer_config


def committed(watcher: Consumer, topic: str, partitions: int) -> int:
    """Records of ``topic`` the watcher's group has committed, over every partition."""
    offsets = watcher.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    return sum(max(0, tp.offset) for tp in offsets)


def end_offsets(bootstrap: str, topic: str, partitions: int, timeout: float = 120.0) -> int:
    """The topic's true end summed over its partitions: read to the end the client's
    end-of-partition event reports. Not queried watermarks: the embedded broker reports a
    partition's end as its last batch's first offset + 1 (the difference once showed as
    "records decided twice")."""
    reader = Consumer(
        consumer_config(bootstrap, f"bench-ends-{time.time_ns()}", **{"enable.partition.eof": True})
    )
    ends = dict.fromkeys(range(partitions), 0)
    pending = set(ends)
    reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
    deadline = time.monotonic() + timeout
    try:
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: partitions {sorted(pending)} did not reach their end")
            for m in reader.consume(1000, 0.5):
                err = m.error()
                if err is not None and err.code() == KafkaError._PARTITION_EOF:
                    pending.discard(m.partition())
                elif err is None:
                    ends[m.partition() or 0] = (m.offset() or 0) + 1
    finally:
        reader.close()
    return sum(ends.values())


@dataclass
class HubProcess:
    """One ``hub process`` child, and its CPU when it said it was consuming."""

    proc: subprocess.Popen[bytes]
    ready: threading.Event
    cpu_at_ready: float = 0.0
    consumed: int | None = None  # from its "stopped: N records" line, once it has stopped
    done: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        if self.proc.poll() is not None:
            err = (self.proc.stderr.read() if self.proc.stderr else b"").decode(errors="replace")
            raise RuntimeError(f"hub process exited {self.proc.returncode}: {err[-500:]}")

    def cpu_since_ready(self) -> float:
        return cpu.tree_cpu(self.proc.pid) - self.cpu_at_ready


def _watch_ready(hp: HubProcess) -> None:
    assert hp.proc.stdout is not None
    hp.proc.stdout.readline()  # "hub processor ... consuming partner topics ...": started
    hp.cpu_at_ready = cpu.tree_cpu(hp.proc.pid)
    hp.ready.set()
    for line in hp.proc.stdout:  # drain, so the child never blocks on a full pipe
        if line.startswith(b"stopped: "):
            hp.consumed = int(line.split()[1])
    hp.done.set()


@contextlib.contextmanager
def hub_processes(
    *, instances: int, bootstrap: str, registry_url: str, data_dir: Path, group: str
) -> Iterator[list[HubProcess]]:
    """``instances`` ``hub process`` children in consumer group ``group``; terminated after."""
    env = {
        **os.environ,
        "HUB_DATA_DIR": str(data_dir),
        "HUB_BOOTSTRAP_SERVERS": bootstrap,
        "HUB_SCHEMA_REGISTRY_URL": registry_url,
        "HUB_CONSUMER_GROUP": group,
        "HUB_AUDIT_URL": f"sqlite:///{data_dir / f'{group}.db'}",  # unused: no --ingest
        "HUB_TRACING": "none",
    }
    procs = [
        HubProcess(
            subprocess.Popen(
                [sys.executable, "-m", "hub.cli.main", "process", "--instance", f"{group}-{i}"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            ),
            threading.Event(),
        )
        for i in range(instances)
    ]
    for hp in procs:
        threading.Thread(target=_watch_ready, args=(hp,), daemon=True).start()
    try:
        yield procs
    finally:
        for hp in procs:
            hp.proc.terminate()
        for hp in procs:
            try:
                hp.proc.wait(30)
            except subprocess.TimeoutExpired:
                hp.proc.kill()
                hp.proc.wait()
            hp.done.wait(5)


class GroupRun(NamedTuple):
    eps: float
    cpu_us_per_event: float
    redecided: int | None  # records consumed twice in the group (None: a count is missing)


def group_rate(
    *,
    instances: int,
    bootstrap: str,
    registry_url: str,
    data_dir: Path,
    topic: str,
    partitions: int,
    timeout: float = 300.0,
) -> GroupRun:
    """Events/s of ``instances`` processor processes sharing one consumer group, over
    everything on the partner topic; and their CPU per event in µs (every process and its
    signature helper, from when each said it was consuming to the group's last commit); and
    the records its processes consumed beyond the topic's (decided again after a rebalance
    moved them before their batch was committed)."""
    group = f"bench-scale-{instances}-{time.time_ns()}"
    # Never subscribes: it only reads the group's committed offsets.
    watcher = Consumer(consumer_config(bootstrap, group))
    n = end_offsets(bootstrap, topic, partitions)
    try:
        with hub_processes(
            instances=instances,
            bootstrap=bootstrap,
            registry_url=registry_url,
            data_dir=data_dir,
            group=group,
        ) as procs:
            deadline = time.monotonic() + timeout
            first: tuple[float, int] | None = None
            done = 0
            while done < n:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{instances} instance(s) committed {done} of {n} in time")
                for hp in procs:
                    hp.check()
                done = committed(watcher, topic, partitions)
                if done and first is None:
                    first = (time.perf_counter(), done)
                time.sleep(0.05)
            assert first is not None
            seconds = time.perf_counter() - first[0]
            if not all(hp.ready.is_set() for hp in procs):
                raise RuntimeError("a hub process never said it was consuming")
            # Every process consumed only after it was ready, so all n events count.
            used = sum(hp.cpu_since_ready() for hp in procs)
        events = n - first[1]
        eps = events / seconds if seconds > 0 else float("nan")
        counts = [hp.consumed for hp in procs]
        redecided = sum(counts) - n if None not in counts else None  # type: ignore[arg-type]
        return GroupRun(eps, used / n * 1e6 if n else float("nan"), redecided)
    finally:
        watcher.close()

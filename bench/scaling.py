"""Consumer-group scaling: the same N events through one ``hub process`` and then through
two, each a process of its own in its own consumer group, on the same broker.

Throughput is read from the group's committed offsets on the partner topic (the processor
commits only after a batch is fully acknowledged), from the first commit to the last, so
process start-up and the group join are left out of both runs alike.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from bench import cpu
from hub.broker.client_config import consumer_config


def _committed(watcher: Consumer, topic: str, partitions: int) -> int:
    offsets = watcher.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    return sum(max(0, tp.offset) for tp in offsets)


def group_rate(
    *,
    instances: int,
    bootstrap: str,
    registry_url: str,
    data_dir: Path,
    topic: str,
    partitions: int,
    timeout: float = 300.0,
) -> tuple[float, float]:
    """Events/s of ``instances`` processor processes sharing one consumer group, over
    everything on the partner topic; and their CPU per event in µs (each process and its
    signature helper, /proc/<pid>/stat utime + stime, over the same span)."""
    group = f"bench-scale-{instances}-{time.time_ns()}"
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
        subprocess.Popen(
            [sys.executable, "-m", "hub.cli.main", "process", "--instance", f"{group}-{i}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(instances)
    ]
    # Never subscribes: it only reads the group's committed offsets.
    watcher = Consumer(consumer_config(bootstrap, group))
    n = sum(
        watcher.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        for p in range(partitions)
    )
    try:
        deadline = time.monotonic() + timeout
        first: tuple[float, int] | None = None
        cpu0 = 0.0
        done = 0
        while done < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{instances} instance(s) committed {done} of {n} in time")
            for p in procs:
                if p.poll() is not None:
                    err = (p.stderr.read() if p.stderr else b"").decode(errors="replace")
                    raise RuntimeError(f"hub process exited {p.returncode}: {err[-500:]}")
            done = _committed(watcher, topic, partitions)
            if done and first is None:
                first = (time.perf_counter(), done)
                cpu0 = sum(cpu.tree_cpu(p.pid) for p in procs)
            time.sleep(0.05)
        assert first is not None
        seconds = time.perf_counter() - first[0]
        used = sum(cpu.tree_cpu(p.pid) for p in procs) - cpu0
        events = n - first[1]
        eps = events / seconds if seconds > 0 else float("nan")
        return eps, used / events * 1e6 if events else float("nan")
    finally:
        watcher.close()
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()

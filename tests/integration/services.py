"""Hub services as child processes, and progress read from the broker.

Each service (the processor, the audit ingester, a recipient's sink) is started as an
operator would start it: ``python -m hub.cli.main ...`` with its settings in the
environment, output to files (a full pipe would block it). Its progress is what its
consumer group has committed: a service has made progress when the group's committed offset
passes records produced for it. Records it cannot use (unsigned, unreadable) are handled and
committed like any other (dead letter, rejected count, failed receipt), so plain junk drives
every loop through consume, handle, produce and commit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from confluent_kafka import Consumer, Producer, TopicPartition

from hub.audit.store import AuditStore
from hub.broker import ensure_topics
from hub.catalogue import AUDIT_TOPIC, DEADLETTER_TOPIC, RECEIPTS_TOPIC, partner_topic

RECIPIENT = "modern-slavery-network"
SINK_TOPIC = f"share.{RECIPIENT}.restart-probe.v1"
PARTNER_TOPIC = partner_topic("merseyside-police", "safeguarding-concern")


@dataclass(frozen=True)
class Kind:
    """One kind of service: how it is started, which group it commits in, what feeds it."""

    name: str
    argv: tuple[str, ...]
    group: str
    topic: str

    def junk_headers(self, i: int) -> list[tuple[str, bytes]]:
        if self.name == "sink":  # the disclosure id every share record carries
            return [("hub.disclosure_id", f"probe-{time.time_ns()}-{i}".encode())]
        return []


def kinds(tmp: Path) -> dict[str, Kind]:
    sink_yaml = tmp / "probe-sink.yaml"
    sink_yaml.write_text(
        f"name: probe\nrecipient: {RECIPIENT}\nstate_dir: {tmp / 'sink-state'}\n"
        f"sink:\n  type: dummy\n  path: {tmp / 'sink-state' / 'delivered.jsonl'}\n"
    )
    return {
        "processor": Kind("processor", ("process",), "hub-processor", PARTNER_TOPIC),
        "ingester": Kind("ingester", ("audit", "ingest"), "hub-audit-ingest", AUDIT_TOPIC),
        "sink": Kind("sink", ("connector", "run", str(sink_yaml)), "sink-probe", SINK_TOPIC),
    }


def service_env(tmp: Path, bootstrap: str, registry_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "HUB_DATA_DIR": str(tmp),
        "HUB_BOOTSTRAP_SERVERS": bootstrap,
        "HUB_SCHEMA_REGISTRY_URL": registry_url,
        "HUB_AUDIT_URL": f"sqlite:///{tmp / 'audit.db'}",
        **extra,
    }


def prepare_topics(bootstrap: str) -> None:
    """One partition each, so partition 0's committed offset is the group's progress."""
    ensure_topics(
        bootstrap,
        [PARTNER_TOPIC, SINK_TOPIC, AUDIT_TOPIC, RECEIPTS_TOPIC, DEADLETTER_TOPIC],
        partitions=1,
    )


class Service:
    """One service process; ``lives`` counts its starts (one log file pair per life)."""

    def __init__(self, kind: Kind, env: dict[str, str], logs: Path) -> None:
        self.kind = kind
        self.env = env
        self.logs = logs
        self.proc: subprocess.Popen[bytes] | None = None
        self.lives = 0
        self.started_at = 0.0
        self._files: list[IO[bytes]] = []

    def start(self, *extra: str) -> None:
        self.lives += 1
        out = open(self._path("out"), "wb")  # noqa: SIM115 - closed in close()
        err = open(self._path("err"), "wb")  # noqa: SIM115 - closed in close()
        self._files += [out, err]
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli.main", *self.kind.argv, *extra],
            env=self.env,
            stdout=out,
            stderr=err,
        )

    def _path(self, what: str) -> Path:
        return self.logs / f"{self.kind.name}-{self.lives}.{what}"

    def stderr(self) -> str:
        return self._path("err").read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send(self, signum: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60.0) -> tuple[int, float]:
        """Signal it and wait: (exit code, seconds it took)."""
        assert self.proc is not None
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            code = -9
        return code, time.monotonic() - started

    def close(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(10)
        for f in self._files:
            f.close()
        self._files.clear()


class HubProcess(Service):
    """`hub -v process --ingest` for the crash tests: each life a new instance id, started
    once it says it consumes; ``kill`` is a SIGKILL of a live process."""

    def __init__(self, tmp: Path, bootstrap: str, registry_url: str) -> None:
        kind = Kind("processor", ("-v", "process", "--ingest"), "hub-processor", PARTNER_TOPIC)
        super().__init__(kind, service_env(tmp, bootstrap, registry_url), tmp)

    def start(self, *extra: str) -> None:
        super().start("--instance", f"crash-{self.lives + 1}", *extra)
        deadline = time.monotonic() + 30
        while "consuming partner topics" not in self._path("out").read_text():
            assert self.alive(), self.tail()
            assert time.monotonic() < deadline, "hub process did not start"
            time.sleep(0.05)

    def tail(self) -> str:
        return self.stderr()[-12000:]

    def kill(self) -> None:
        assert self.proc is not None
        assert self.alive(), f"processor died on its own: {self.tail()}"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def wait_for_progress(audit: AuditStore, service: HubProcess, timeout: float = 90.0) -> None:
    """Until this life of the processor has written some decisions. After a SIGKILL this
    takes 4-19 s here (the killed member's 6 s session runs out in both consumer groups,
    then Tansu's 3 s join pause); the timeout leaves room for a loaded CI machine.

    The one failure seen here ("no progress" within 90 s, issue 16) was not a slow group:
    the ingester thread inside ``hub process --ingest`` had died on SQLite's "database is
    locked" while this test's own progress poll read the store, and the processor ran on
    with nothing reaching the audit store. Reproduced under two CPU hogs (2 of 2 runs: the
    poll itself failed the same way); fixed by the store's WAL mode (hub/audit/sqlite.py),
    a retry of a busy store in the batch loop, and a service that stops when a part of it
    dies. Should it ever stall again, the failure carries every thread's stack."""
    before = audit.count_decisions() + audit.count_dead_letters()
    start = time.monotonic()
    deadline = start + timeout
    while audit.count_decisions() + audit.count_dead_letters() == before:
        assert service.alive(), service.tail()
        if time.monotonic() >= deadline:
            service.send(signal.SIGUSR1)  # every thread's stack to its stderr
            time.sleep(1.0)
            raise AssertionError(f"processor made no progress: {service.tail()}")
        time.sleep(0.1)


def produce_junk(bootstrap: str, kind: Kind, n: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(n):
        producer.produce(
            kind.topic,
            partition=0,
            value=b"\x07 not a record the hub can use",
            key=f"probe-{i}".encode(),
            headers=kind.junk_headers(i),  # type: ignore[arg-type]  # stub is invariant
        )
    assert producer.flush(10) == 0, "probe records not acknowledged"


def committed(bootstrap: str, group: str, topic: str) -> int:
    """The group's committed offset on partition 0 (-1001 when none). Reading it does not
    join the group."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        [tp] = c.committed([TopicPartition(topic, 0)], timeout=10)
        return int(tp.offset)
    finally:
        c.close()


def wait_committed(
    bootstrap: str, kind: Kind, at_least: int, timeout: float, service: Service | None = None
) -> float:
    """Seconds until the kind's group has committed ``at_least`` on its topic."""
    started = time.monotonic()
    while committed(bootstrap, kind.group, kind.topic) < at_least:
        if service is not None:
            assert service.alive(), f"{kind.name} exited: {service.stderr()[-3000:]}"
        assert time.monotonic() - started < timeout, f"{kind.name} made no progress"
        time.sleep(0.05)
    return time.monotonic() - started

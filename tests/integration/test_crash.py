"""Crash test: `hub process` is SIGKILLed several times while a signed police feed with
hostile records mixed in flows into the partner topic, and restarted each time. Afterwards
nothing valid is lost, nothing is duplicated in the audit or the sinks, nothing reaches a
sink or a recipient topic without a `shared` decision, and every hostile record is a dead
letter at its own offset. Duplicates on the recipient topics are allowed (at-least-once)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.base.publisher import PartnerPublisher
from connectors.synthetic.police import PoliceFeed, malformed_records
from hub.audit.store import AuditStore
from hub.broker import EmbeddedBroker, ensure_topics
from hub.catalogue import (
    AUDIT_TOPIC,
    DEADLETTER_TOPIC,
    RECEIPTS_TOPIC,
    EventType,
    partner_topic,
    share_topic,
)
from hub.config import Settings
from hub.identity import SigningKey
from hub.identity.signing import sign
from hub.processor.build import partner_keys
from tests.integration.checker import (
    Sent,
    SignedSender,
    SinkRow,
    TopicRecord,
    check,
    read_topics,
    sink_rows,
    topic_records,
)
from tests.integration.helpers import case_sinks, police_publisher

pytestmark = pytest.mark.integration

CANDIDATES = ("liverpool-mash", "knowsley-mash", "modern-slavery-network")
VALID = 20_000
HOSTILE = 300
KILLS = 4
SEED = 20261123


@dataclass
class Record:
    value: bytes | None
    key: bytes
    valid_id: str | None
    label: str
    headers: list[tuple[str, bytes]] | None  # None: signed by the police


def feed(publisher: PartnerPublisher, settings: Settings, topic: str) -> list[Record]:
    """20,000 valid events with 300 hostile records spread among them, in sending order."""
    rng = random.Random(SEED)
    keys = partner_keys(settings)
    events = PoliceFeed(seed=SEED).events(VALID)
    valid = [
        Record(publisher.serialize(e), e["envelope"]["event_id"].encode(), None, "valid", None)
        for e in events
    ]
    for r, e in zip(valid, events, strict=True):
        r.valid_id = e["envelope"]["event_id"]
    first = valid[0].value
    assert first is not None
    schema_id = int.from_bytes(first[1:5], "big")
    malformed = malformed_records(schema_id, first, seed=SEED)
    impostor = SigningKey("merseyside-police/dev1", Ed25519PrivateKey.generate())
    wirral = keys.dev_signing_key("wirral-mbc")
    spoofs = PoliceFeed(seed=SEED + 1)
    hostile: list[Record] = []
    for i in range(HOSTILE):
        key = f"hostile-{i}".encode()
        kind = i % 5
        genuine = publisher.serialize(spoofs.next_event())
        if kind == 0:  # malformed, but signed by the police
            label, value = malformed[i // 5 % len(malformed)]
            hostile.append(Record(value, key, None, label, None))
        elif kind == 1:
            hostile.append(Record(genuine, key, None, "unsigned", []))
        elif kind == 2:
            headers = sign(impostor, topic, key, genuine)
            hostile.append(Record(genuine, key, None, "wrongly signed", headers))
        elif kind == 3:
            headers = sign(wirral, topic, key, genuine)
            hostile.append(Record(genuine, key, None, "signed by another partner", headers))
        else:  # signed by the police, but claims to come from Wirral
            event = spoofs.next_event()
            event["envelope"]["source_partner"] = "wirral-mbc"
            hostile.append(Record(publisher.serialize(event), key, None, "spoofed source", None))
    records = list(valid)
    for h in hostile:
        records.insert(rng.randrange(len(records) + 1), h)
    return records


def publish(sender: SignedSender, records: list[Record], chunk: int = 600) -> None:
    """Paced, so the feed is still flowing while the processor is killed and restarted."""
    for start in range(0, len(records), chunk):
        for r in records[start : start + chunk]:
            sender.send(r.value, r.key, valid_id=r.valid_id, label=r.label, headers=r.headers)
        time.sleep(0.4)
    sender.flush()


class Service:
    """`hub process` as a child process, output to files (a full pipe would block it)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self._env = env
        self._logs = logs
        self.proc: subprocess.Popen[bytes] | None = None
        self._files: list[IO[bytes]] = []
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        out = self._logs / f"process-{self.starts}.out"
        files = [open(out, "wb"), open(self._logs / f"process-{self.starts}.err", "wb")]  # noqa: SIM115
        self._files += files
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub.cli.main",
                "-v",
                "process",
                "--ingest",
                "--instance",
                f"crash-{self.starts}",
            ],
            env=self._env,
            stdout=files[0],
            stderr=files[1],
        )
        deadline = time.monotonic() + 30
        while "consuming partner topics" not in out.read_text():
            assert self.proc.poll() is None, self.stderr()
            assert time.monotonic() < deadline, "hub process did not start"
            time.sleep(0.05)

    def stderr(self) -> str:
        return (self._logs / f"process-{self.starts}.err").read_text()[-12000:]

    def kill(self) -> None:
        assert self.proc is not None
        assert self.proc.poll() is None, f"processor died on its own: {self.stderr()}"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for f in self._files:
            f.close()
        return self.proc.returncode


@pytest.fixture
def service(tmp_path: Path, broker: EmbeddedBroker, registry_url: str) -> Iterator[Service]:
    env = {
        **os.environ,
        "HUB_DATA_DIR": str(tmp_path),
        "HUB_BOOTSTRAP_SERVERS": broker.bootstrap,
        "HUB_SCHEMA_REGISTRY_URL": registry_url,
        "HUB_AUDIT_URL": f"sqlite:///{tmp_path / 'audit.db'}",
    }
    s = Service(env, tmp_path)
    yield s
    if s.proc is not None:
        s.stop()


def wait_for_progress(audit: AuditStore, service: Service, timeout: float = 90.0) -> None:
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
        assert service.proc is not None and service.proc.poll() is None, service.stderr()
        if time.monotonic() >= deadline:
            service.proc.send_signal(signal.SIGUSR1)  # every thread's stack to its stderr
            time.sleep(1.0)
            raise AssertionError(f"processor made no progress: {service.stderr()}")
        time.sleep(0.1)


def test_sigkill_loses_duplicates_and_overshares_nothing(
    tmp_path: Path,
    broker: EmbeddedBroker,
    registry_url: str,
    concern_type: EventType,
    service: Service,
) -> None:
    started = time.monotonic()
    settings = Settings(data_dir=tmp_path)
    topic = partner_topic("merseyside-police", "safeguarding-concern")
    share = {r: share_topic(r, "safeguarding-concern") for r in CANDIDATES}
    ensure_topics(
        broker.bootstrap,
        [topic, DEADLETTER_TOPIC, AUDIT_TOPIC, RECEIPTS_TOPIC, *share.values()],
    )
    police, publisher = police_publisher(settings, broker.bootstrap, registry_url, concern_type)
    service.start()  # it joins the group while the feed is prepared
    records = feed(publisher, settings, topic)
    publisher.close()
    phases: list[str] = []

    def phase(name: str) -> None:
        phases.append(f"{name} {time.monotonic() - started:.1f}s")

    sender = SignedSender(broker.bootstrap, topic, police)

    sinks = case_sinks(tmp_path, CANDIDATES, broker.bootstrap, registry_url, settings)
    stop_sinks = threading.Event()
    errors: list[BaseException] = []

    def guarded(fn: Any) -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=guarded, args=(lambda s=s: s.run(stop_sinks),), daemon=True)
        for s in sinks.values()
    ]
    threads.append(
        threading.Thread(target=guarded, args=(lambda: publish(sender, records),), daemon=True)
    )
    for t in threads:
        t.start()

    audit = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    rng = random.Random(SEED)
    try:
        phase("feed ready")
        for _ in range(KILLS):
            wait_for_progress(audit, service)
            phase("progress")
            time.sleep(rng.uniform(0.1, 2.0))  # somewhere inside a batch, or between two
            service.kill()
            service.start()
            phase("restarted")
        threads[-1].join(90)
        phase("published")
        assert not threads[-1].is_alive(), "publisher did not finish"
        assert not errors, errors
        sent = sender.sent
        assert len(sent.valid) == VALID and len(sent.hostile) == HOSTILE

        deadline = time.monotonic() + 150
        while (
            audit.count_decisions() < len(CANDIDATES) * VALID
            or audit.count_dead_letters() < HOSTILE
        ):
            assert service.proc is not None and service.proc.poll() is None, service.stderr()
            assert time.monotonic() < deadline, (
                f"drain timed out: {audit.count_decisions()} decisions, "
                f"{audit.count_dead_letters()} dead letters"
            )
            time.sleep(0.2)
        phase("drained")
        shared = {
            r: sum(
                1 for d in audit.all_decisions() if d["recipient"] == r and d["outcome"] == "shared"
            )
            for r in CANDIDATES
        }
        deadline = time.monotonic() + 60
        while any(sinks[r].count() < n for r, n in shared.items()):
            assert time.monotonic() < deadline, "sinks did not catch up"
            assert not errors, errors
            time.sleep(0.2)
        phase("sinks caught up")
        time.sleep(1.0)  # a duplicate or an over-share would arrive now
        assert service.stop() == 0, service.stderr()
    finally:
        if service.proc is not None and service.proc.poll() is None:
            service.proc.kill()  # a failed assertion must not leave it running
            service.proc.wait(10)
        stop_sinks.set()
        for t in threads:
            t.join(15)
    assert not errors, errors

    on_topics = read_topics(broker.bootstrap, list(share.values()))
    problems = check(
        sent=sender.sent,
        candidates=CANDIDATES,
        decisions=audit.all_decisions(),
        dead_letters=audit.all_dead_letters(),
        sinks={r: sink_rows(s) for r, s in sinks.items()},
        topics={r: topic_records(r, on_topics[share[r]]) for r in CANDIDATES},
    )
    phase("checked")
    assert not problems, problems
    assert all(shared.values()), shared
    for s in sinks.values():
        s.close()
    audit.close()
    print(
        f"\ncrash test: {VALID} valid + {HOSTILE} hostile, {KILLS} SIGKILLs, "
        f"{service.starts} starts, shared {shared}, "
        f"{sum(len(v) for v in on_topics.values())} records on recipient topics, "
        f"{time.monotonic() - started:.1f}s; phases: {', '.join(phases)}"
    )


def test_the_checker_catches_each_kind_of_failure() -> None:
    """The checker is only as good as what it can catch: feed it each failure once."""
    t = "partner.merseyside-police.safeguarding-concern.v1"
    sent = Sent(valid={"e1": (t, 0, 0), "e2": (t, 0, 1)}, hostile={(t, 1, 0): "unsigned"})

    def decision(event: str, recipient: str, shared: bool) -> dict[str, Any]:
        return {
            "event_id": event,
            "recipient": recipient,
            "outcome": "shared" if shared else "withheld",
            "disclosure_id": f"{event}-{recipient}" if shared else None,
            "agreement_id": "a" if shared else None,
            "agreement_version": 1 if shared else None,
        }

    decisions = [decision(e, r, (e, r) == ("e1", "x")) for e in ("e1", "e2") for r in "xy"]
    dead = [{"topic": t, "partition": 1, "offset": 0, "reason_code": "unsigned", "reason": "r"}]
    good_sink = {"x": [SinkRow("e1-x", "e1", "a@v1")], "y": []}
    good_topic = {"x": [TopicRecord("x", "e1-x", "e1", "a@v1")] * 2, "y": []}  # dup allowed

    def run(**changes: Any) -> list[str]:
        args: dict[str, Any] = {
            "sent": sent,
            "candidates": "xy",
            "decisions": decisions,
            "dead_letters": dead,
            "sinks": good_sink,
            "topics": good_topic,
        }
        return check(**{**args, **changes})

    assert run() == []
    assert run(decisions=decisions[1:])  # a lost decision
    assert run(decisions=[*decisions, decisions[1]])  # a duplicated decision
    assert run(dead_letters=[])  # a hostile record not dead-lettered
    assert run(sinks={"x": [*good_sink["x"], SinkRow("e2-x", "e2", "a@v1")]})  # over-shared
    assert run(sinks={"x": [*good_sink["x"], SinkRow("e1-x2", "e1", "a@v1")]})  # duplicate
    assert run(sinks={"x": []})  # a shared disclosure missing from the sink
    assert run(topics={"y": [TopicRecord("y", "e1-y", "e1", "a@v1")]})  # over-shared on topic
    assert run(topics={"x": []})  # a shared disclosure never produced

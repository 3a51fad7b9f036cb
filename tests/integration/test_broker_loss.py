"""A lost broker never produces a traceback, and SIGTERM stops every service within its
grace period whatever the broker's state (issue 15 item 8).

Each service runs as its own process, as an operator runs it, against an embedded broker
that is then SIGKILLed while records are flowing (a commit or a flush is in flight). The
service must keep running, write exactly one line naming the broker and since when, no
traceback, and stop on SIGTERM within ``HUB_STOP_GRACE_SECONDS``.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from hub.broker import EmbeddedBroker
from tests.integration.helpers import Workers
from tests.integration.services import (
    Kind,
    Service,
    kinds,
    prepare_topics,
    produce_junk,
    service_env,
    wait_committed,
)

pytestmark = pytest.mark.integration

GRACE = 4.0
SERVICES = ["processor", "ingester", "sink"]


@pytest.fixture
def own_broker() -> Iterator[EmbeddedBroker]:
    """A broker of this test's own: it is killed."""
    with EmbeddedBroker() as b:
        prepare_topics(b.bootstrap)
        yield b


def _start(name: str, tmp: Path, broker: EmbeddedBroker, registry_url: str) -> Service:
    """The service running and past its first records (the analytics worker: ready)."""
    env = service_env(tmp, broker.bootstrap, registry_url, HUB_STOP_GRACE_SECONDS=str(GRACE))
    if name == "analytics":
        return _start_analytics(tmp, env)
    service = Service(kinds(tmp)[name], env, tmp)
    service.start()
    produce_junk(broker.bootstrap, service.kind, 20)
    wait_committed(broker.bootstrap, service.kind, 20, timeout=60, service=service)
    return service


def _start_analytics(tmp: Path, env: dict[str, str]) -> Service:
    """`hub analytics run` (faust in a child process), until its status says ready."""
    kind = Kind("analytics", ("analytics", "run", "--status", str(tmp / "status.json")), "", "")
    service = Service(kind, env, tmp)
    service.start()
    deadline = time.monotonic() + 120
    while True:
        with contextlib.suppress(OSError, ValueError):
            if json.loads((tmp / "status.json").read_text()).get("ready"):
                return service
        assert service.alive(), service.stderr()
        assert time.monotonic() < deadline, "analytics worker not ready"
        time.sleep(0.3)


def _feed(broker: EmbeddedBroker, service: Service, stop: threading.Event) -> None:
    """Records keep arriving up to the kill, so a batch is between fetch and commit when
    the broker dies (the ingester's "Commit failed")."""
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 1})
    i = 0
    while not stop.is_set():
        i += 1
        with contextlib.suppress(BufferError):
            producer.produce(
                service.kind.topic,
                partition=0,
                value=b"\x07 junk",
                headers=service.kind.junk_headers(i),  # type: ignore[arg-type]
            )
        producer.poll(0.001 if i % 20 else 0.01)


def _outage_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "unreachable since" in line]


def _survived_with_one_line(service: Service, *says: str) -> None:
    """After the broker is lost: still running; on SIGTERM, stopped within the grace period
    with no traceback and one outage line, which ``says`` each of these."""
    name = service.kind.name
    assert service.alive(), f"{name} exited after losing the broker: {service.stderr()}"
    code, took = service.stop(signal.SIGTERM)
    stderr = service.stderr()
    assert "Traceback" not in stderr, stderr
    lines = _outage_lines(stderr)
    assert len(lines) == 1, stderr
    assert all(said in lines[0] for said in says), lines
    assert took <= GRACE + 1.5, f"{name} took {took:.1f}s to stop (exit {code}): {stderr}"


@contextlib.contextmanager
def _broker_back(
    own_broker: EmbeddedBroker, service: Service, after: float
) -> Iterator[EmbeddedBroker]:
    """The broker SIGKILLed and, ``after`` seconds later, back on its port (empty: memory
    storage) with the topics and 10 new records for ``service``."""
    port = own_broker.port
    own_broker.kill()
    time.sleep(after)
    with EmbeddedBroker(port=port) as again:
        prepare_topics(again.bootstrap)
        produce_junk(again.bootstrap, service.kind, 10)
        yield again


@pytest.mark.parametrize("name", SERVICES)
def test_lost_broker_never_produces_a_traceback(
    tmp_path: Path, own_broker: EmbeddedBroker, registry_url: str, name: str
) -> None:
    service = _start(name, tmp_path, own_broker, registry_url)
    try:
        feeder = Workers()
        feeder.start(lambda: _feed(own_broker, service, feeder.stop), "feeder")
        time.sleep(1.5)
        own_broker.kill()
        feeder.join(10)
        feeder.check()
        # Longer than a synchronous commit waits for the coordinator (about 6 s), the
        # wait that ended the ingester with "Commit failed" and a traceback.
        time.sleep(9)
        _survived_with_one_line(service, own_broker.bootstrap, "retrying")
    finally:
        service.close()


def test_analytics_lost_broker_one_line_and_stops_within_grace(
    tmp_path: Path, own_broker: EmbeddedBroker, registry_url: str
) -> None:
    service = _start("analytics", tmp_path, own_broker, registry_url)
    try:
        own_broker.kill()
        time.sleep(8)
        _survived_with_one_line(service, "hub analytics run")
    finally:
        service.close()


@pytest.mark.parametrize("name", [*SERVICES, "analytics"])
def test_sigterm_stops_within_grace_period(
    tmp_path: Path, own_broker: EmbeddedBroker, registry_url: str, name: str
) -> None:
    """With the broker up, SIGTERM is a clean stop: exit 0, well inside the grace period."""
    service = _start(name, tmp_path, own_broker, registry_url)
    try:
        code, took = service.stop(signal.SIGTERM)
        assert code == 0, service.stderr()
        assert took < GRACE, f"{name} took {took:.1f}s to stop"
        assert "Traceback" not in service.stderr()
    finally:
        service.close()


def test_service_resumes_when_the_broker_returns(
    tmp_path: Path, own_broker: EmbeddedBroker, registry_url: str
) -> None:
    """Retrying is real: after the broker comes back (empty: memory storage), the same
    ingester process makes progress again, with still only one outage line."""
    service = _start("ingester", tmp_path, own_broker, registry_url)
    try:
        with _broker_back(own_broker, service, after=8) as again:
            wait_committed(again.bootstrap, service.kind, 10, timeout=90, service=service)
            code, took = service.stop(signal.SIGTERM)
        stderr = service.stderr()
        assert code == 0 and took < GRACE, stderr
        assert "Traceback" not in stderr, stderr
        assert len(_outage_lines(stderr)) == 1, stderr
    finally:
        service.close()


def test_a_client_an_empty_broker_forgot_ends_with_one_line(
    tmp_path: Path, own_broker: EmbeddedBroker, registry_url: str
) -> None:
    """The embedded broker restarts empty: the sink's idempotent producer is unknown to it,
    a fatal client error. Retrying with that client cannot help: the sink exits non-zero
    with one line (its service manager restarts it), never a traceback or a silent hang."""
    service = _start("sink", tmp_path, own_broker, registry_url)
    try:
        with _broker_back(own_broker, service, after=4):
            assert service.proc is not None
            code = service.proc.wait(90)
        stderr = service.stderr()
        # 2: it closed its clients and exited; 3: closing them hung and the grace period
        # ended it. Either way one line says why, and nothing is left half-done.
        assert code in (2, 3), stderr
        assert "Traceback" not in stderr, stderr
        assert "restarts it with fresh clients" in stderr, stderr
    finally:
        service.close()

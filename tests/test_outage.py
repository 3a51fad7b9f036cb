"""A lost broker: classified by type, one line per outage, rewind and backoff in loops."""

from __future__ import annotations

import logging
import threading

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from hub import outage
from hub.errors import BrokerUnavailable, MalformedRecord
from hub.outage import (
    Backoff,
    ClientFailed,
    LossRetry,
    Outage,
    broker_lost,
    failure_line,
    supervise,
)
from tests.processor.stubs import FakeMessage


def kafka(code: int, fatal: bool = False) -> KafkaException:
    return KafkaException(KafkaError(code, "test", fatal=fatal))


def test_broker_loss_is_told_apart_from_everything_else() -> None:
    assert broker_lost(BrokerUnavailable("gone"))
    assert broker_lost(kafka(KafkaError._WAIT_COORD))  # the ingester's "Commit failed"
    assert broker_lost(kafka(KafkaError._TRANSPORT))
    assert not broker_lost(kafka(KafkaError.UNKNOWN_PRODUCER_ID, fatal=True))
    assert not broker_lost(MalformedRecord("bad"))
    assert not broker_lost(ValueError("a bug"))
    assert failure_line(ValueError("a bug")) is None  # bugs keep their traceback
    line = failure_line(kafka(KafkaError.UNKNOWN_PRODUCER_ID, fatal=True))
    assert line is not None and "restart the service" in line


def test_one_line_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="hub.outage")
    o = Outage("kafka-1:9092")
    o.lost("connection refused", "hub process")
    o.lost("connection refused", "hub process")
    o.lost("commit failed", "hub process")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    line = errors[0].getMessage()
    assert "kafka-1:9092" in line and "since" in line and "retrying" in line
    o.back("hub process")
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    o.lost("a client still failing while the broker settles", "hub process")
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1
    o.back_at = -1e9  # long after it came back: a new outage gets its own line
    o.lost("gone again", "hub process")
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 2
    o.since = None  # stop its prober


def test_backoff_grows_to_its_cap_and_resets() -> None:
    b = Backoff(initial=0.5, maximum=4.0, jitter=0.0)
    assert [b.next() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    b.reset()
    assert b.next() == 0.5


class Seeks:
    """Records the seeks a rewind asks of a consumer (the pure part of LossRetry)."""

    def __init__(self) -> None:
        self.seeks: list[tuple[str, int, int]] = []

    def seek(self, tp: TopicPartition) -> None:
        self.seeks.append((tp.topic, tp.partition, tp.offset))


def test_a_failed_batch_is_rewound_to_its_first_record_per_partition() -> None:
    outage.outage_for("rewind-test:1").since = 1.0  # the broker is down
    try:
        consumer = Seeks()
        retry = LossRetry("svc", Backoff(initial=0.001, jitter=0.0))
        batch = [
            FakeMessage(t, p, o, None)
            for t, p, o in [("a", 0, 7), ("a", 0, 8), ("a", 1, 3), ("b", 0, 11)]
        ]
        assert retry.recover(consumer, batch, BrokerUnavailable("x"), threading.Event())
        assert sorted(consumer.seeks) == [("a", 0, 7), ("a", 1, 3), ("b", 0, 11)]
        assert not retry.recover(consumer, batch, MalformedRecord("bad"), threading.Event())
    finally:
        outage.outage_for("rewind-test:1").since = None


def test_a_client_failing_while_the_broker_answers_ends_the_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outage, "_outages", {})  # no broker known: nothing says it is away
    retry = LossRetry("svc", Backoff(initial=0.001, jitter=0.0))
    stop = threading.Event()
    for _ in range(LossRetry.WEDGED - 1):
        assert retry.recover(Seeks(), [], BrokerUnavailable("unacknowledged"), stop)
    with pytest.raises(ClientFailed, match="restarts it with fresh clients"):
        retry.recover(Seeks(), [], BrokerUnavailable("unacknowledged"), stop)


def test_supervise_runs_again_once_the_broker_answers() -> None:
    attempts: list[int] = []

    def attempt() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise kafka(KafkaError._WAIT_COORD)
        return "done"

    probes: list[str] = []
    result = supervise(
        "svc",
        "supervise-test:1",
        threading.Event(),
        attempt,
        backoff=Backoff(initial=0.001, jitter=0.0),
        probe=lambda b: probes.append(b) or True,
    )
    assert result == "done" and len(attempts) == 3 and probes == ["supervise-test:1"] * 2
    assert not outage.outage_for("supervise-test:1").down


def test_supervise_lets_other_errors_through_and_stops_when_asked() -> None:
    def bug() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        supervise("svc", "supervise-test:2", threading.Event(), bug)
    stop = threading.Event()
    stop.set()

    def lost() -> None:
        raise BrokerUnavailable("gone")

    assert supervise("svc", "supervise-test:2", stop, lost, probe=lambda _b: False) is None
    outage.outage_for("supervise-test:2").since = None


class Refuses(Seeks):
    """A consumer that cannot seek a partition it still owns."""

    def seek(self, tp: TopicPartition) -> None:
        raise KafkaException(KafkaError(KafkaError._STATE, "not fetching"))

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition("a", 0)]


def test_a_batch_that_cannot_be_rewound_is_never_passed_over() -> None:
    """Polling on after a failed rewind would let a later commit skip the batch."""
    with pytest.raises(ClientFailed, match="could not rewind a\\[0\\] to offset 7"):
        outage.rewind(Refuses(), [FakeMessage("a", 0, 7, None)])
    outage.rewind(
        Refuses(), [FakeMessage("b", 1, 3, None)]
    )  # revoked meanwhile: its new owner has it


def test_no_client_is_declared_wedged_while_the_broker_is_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outage, "_outages", {})
    outage.outage_for("127.0.0.1:1")  # nothing listens there: the broker is away
    retry = LossRetry("svc", Backoff(initial=0.001, jitter=0.0))
    for _ in range(LossRetry.WEDGED + 2):
        assert retry.recover(Seeks(), [], BrokerUnavailable("gone"), threading.Event())
    outage.outage_for("127.0.0.1:1").since = None


def test_a_registry_outage_retries_the_batch_in_place(caplog: pytest.LogCaptureFixture) -> None:
    """The registry away: the batch is rewound and retried with backoff, one ERROR line for
    the outage and one when it answers again, not an exit (or a line per attempt)."""
    from hub.errors import RegistryUnavailable

    consumer = Seeks()
    retry = LossRetry("hub processor", Backoff(initial=0.001, jitter=0.0))
    batch = [FakeMessage("a", 0, 5, None), FakeMessage("a", 0, 6, None)]
    away = RegistryUnavailable("schema registry unreachable for schema id 12: ConnectError")
    with caplog.at_level(logging.WARNING, logger="hub"):
        for _ in range(3):
            assert retry.recover(consumer, batch, away, threading.Event())
        retry.succeeded()
    assert consumer.seeks == [("a", 0, 5)] * 3
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "schema registry is unavailable" in lines[0] and "schema id 12" in lines[0]
    assert "answers again" in lines[1]

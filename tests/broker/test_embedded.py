"""The embedded broker starts, answers, creates topics and never outlives its owner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from hub.broker import EmbeddedBroker, end_offsets, ensure_topics

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); read its state.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_start_create_topics_stop() -> None:
    with EmbeddedBroker() as broker:
        pid = broker.pid
        assert pid is not None and _alive(pid)
        ensure_topics(broker.bootstrap, ["partner.test.thing.v1"], partitions=3)
        ensure_topics(broker.bootstrap, ["partner.test.thing.v1"], partitions=3)  # idempotent
        assert end_offsets(broker.bootstrap, "partner.test.thing.v1") == {0: 0, 1: 0, 2: 0}
    assert not _alive(pid)


def test_broker_dies_with_a_killed_parent() -> None:
    code = (
        "from hub.broker import EmbeddedBroker; import time, sys\n"
        "b = EmbeddedBroker().start(); print(b.pid, flush=True); time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    broker_pid = int(parent.stdout.readline())
    assert _alive(broker_pid)
    parent.send_signal(signal.SIGKILL)  # no atexit, no finally: only PDEATHSIG can clean up
    parent.wait(10)
    deadline = time.monotonic() + 10
    while _alive(broker_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(broker_pid), "broker outlived its SIGKILLed parent"


def test_ctrl_c_stops_broker() -> None:
    code = (
        "from hub.broker import EmbeddedBroker; import time\n"
        "with EmbeddedBroker() as b:\n"
        "    print(b.pid, flush=True); time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    broker_pid = int(parent.stdout.readline())
    parent.send_signal(signal.SIGINT)
    parent.wait(15)
    deadline = time.monotonic() + 10
    while _alive(broker_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(broker_pid)


def test_queried_high_watermark_is_the_last_batch_base_plus_one() -> None:
    """What the hub must not rely on: asked for its end offset, the embedded broker answers
    with the last batch's base offset + 1. A fetch reports the true end, and so does the
    client's end-of-partition event, which is what replay, the checker, the lag metric and
    the ingester's caught-up check read instead. If a Tansu upgrade fixes the query, this
    test says so."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    with EmbeddedBroker() as broker:
        ensure_topics(broker.bootstrap, ["wm.test"], partitions=1)
        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 50})
        for batch in (10, 7):  # two produce batches: offsets 0-9 and 10-16
            for _ in range(batch):
                producer.produce("wm.test", b"x", partition=0)
            assert producer.flush(10) == 0
        tp = TopicPartition("wm.test", 0)
        assert end_offsets(broker.bootstrap, "wm.test") == {0: 11}  # not 17
        consumer = Consumer(
            {
                "bootstrap.servers": broker.bootstrap,
                "group.id": "wm-reader",
                "enable.partition.eof": True,
            }
        )
        try:
            consumer.assign([TopicPartition("wm.test", 0, 0)])
            read, eof_at = 0, None
            deadline = time.monotonic() + 20
            while eof_at is None and time.monotonic() < deadline:
                msg = consumer.poll(0.2)
                if msg is None:
                    continue
                if msg.error() is not None:
                    eof_at = msg.offset()
                else:
                    read += 1
            assert (read, eof_at) == (17, 17)
            assert consumer.get_watermark_offsets(tp, cached=True)[1] == 17
        finally:
            consumer.close()

"""The web hook's group commit (issue 17): concurrent requests share broker
acknowledgements, none is answered before the flush that covers its event has returned, and a
failed flush fails every request it covered. The flush here is a function the test controls
(this is the commit protocol alone); the receiver on the real broker is test_webhook.py's and
test_webhook_concurrency below."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from connectors.sources.webhook import GroupCommit, WebhookSource
from hub.broker import EmbeddedBroker
from hub.catalogue import Catalogue, partner_topic
from tests.connectors.conftest import read_topic
from tests.connectors.sources.test_webhook import TOKENS, _event
from tests.connectors.sources.test_webhook import receiver as receiver  # the fixture


class Producer:
    """Queued and acknowledged events, and a flush that takes a while."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.queued: list[int] = []
        self.acked: set[int] = set()
        self.flushes = 0
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def queue(self, n: int) -> None:
        with self.lock:
            self.queued.append(n)

    def flush(self) -> None:
        with self.lock:
            taken = list(self.queued)
            self.flushes += 1
            number = self.flushes
        time.sleep(0.02)  # the broker's round trip
        if number == self.fail_on:
            raise ConnectionError("broker went away")
        with self.lock:
            self.acked.update(taken)


def test_concurrent_requests_share_flushes_and_none_is_answered_early() -> None:
    producer = Producer()
    commit = GroupCommit(producer.flush)
    answered_before_ack: list[int] = []

    def request(n: int) -> None:
        producer.queue(n)
        commit.wait(commit.queued())
        with producer.lock:
            if n not in producer.acked:
                answered_before_ack.append(n)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(request, range(400)))
    assert answered_before_ack == []
    assert producer.acked == set(range(400))
    assert producer.flushes < 200  # one flush per request would be 400


def test_a_failed_flush_fails_every_request_it_covered() -> None:
    producer = Producer(fail_on=1)
    commit = GroupCommit(producer.flush)
    errors: list[str] = []
    gate = threading.Barrier(8)

    def request(n: int) -> None:
        producer.queue(n)
        ticket = commit.queued()
        gate.wait()  # all eight queued before anyone flushes: one flush covers them all
        try:
            commit.wait(ticket)
        except ConnectionError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=request, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == ["broker went away"] * 8
    # The next request gets a flush of its own, and its answer.
    producer.queue(8)
    commit.wait(commit.queued())
    assert 8 in producer.acked


@pytest.mark.integration
def test_concurrent_calls_on_the_real_broker_are_each_published_once(
    receiver: tuple[WebhookSource, dict[str, Any]],
    broker: EmbeddedBroker,
    catalogue: Catalogue,
) -> None:
    hook, _ = receiver
    slug, partner = "safe-and-well-referral", "merseyside-fire"
    events = [_event(catalogue, slug, partner, seed) for seed in range(60)]

    def post(event: dict[str, Any]) -> int:
        with httpx.Client(base_url=hook.url, timeout=30) as client:
            r = client.post(
                f"/v1/events/{slug}",
                content=json.dumps(event),
                headers={"Authorization": f"Bearer {TOKENS[partner]}"},
            )
            return r.status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(post, events))
    assert codes == [202] * 60
    # Each 202 meant acknowledged: every event is on the topic already, exactly once (read
    # for one more than sent, so a duplicate would show).
    records = read_topic(broker.bootstrap, partner_topic(partner, slug), 61, timeout=3)
    ids = [r.key() for r in records]
    assert len(ids) == 60 and len(set(ids)) == 60

"""The processor's collector policy: freeze once after a batch, thaw on reload and close."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.synthetic.police import PoliceFeed
from hub.broker import EmbeddedBroker
from hub.config import Settings
from hub.processor import build_processor
from hub.processor.build import partner_keys
from hub.processor.heap import HeapPolicy
from tests.plugin import POLICE, PolicePublisher


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_freezes_once_after_the_first_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    heap = HeapPolicy(freeze=True)
    assert gc.get_freeze_count() == 0
    freezes: list[int] = []
    real_freeze = gc.freeze
    monkeypatch.setattr(gc, "freeze", lambda: (freezes.append(1), real_freeze())[1])
    heap.settled()
    assert heap.frozen and gc.get_freeze_count() > 0 and len(freezes) == 1
    heap.settled()
    # Not frozen again on later batches. (Counting calls, not frozen objects: in a long
    # test process frozen objects are freed by reference counting between two reads.)
    assert len(freezes) == 1


def test_thaw_gives_the_collector_everything_back_and_the_next_batch_freezes_again() -> None:
    heap = HeapPolicy(freeze=True)
    heap.settled()
    heap.thaw()
    assert not heap.frozen and gc.get_freeze_count() == 0
    heap.settled()
    assert heap.frozen and gc.get_freeze_count() > 0


def test_switched_off_never_freezes() -> None:
    heap = HeapPolicy(freeze=False)
    heap.settled()
    assert not heap.frozen and gc.get_freeze_count() == 0


@pytest.mark.integration
def test_hub_processor_freezes_after_its_first_batch_and_thaws_on_close(
    tmp_path: Path, broker: EmbeddedBroker, registry_url: str, police_publisher: PolicePublisher
) -> None:
    settings = Settings(data_dir=tmp_path)
    publisher = police_publisher(partner_keys(settings).dev_signing_key(POLICE))
    publisher.publish(PoliceFeed(seed=5).next_event())
    publisher.close()
    processor = build_processor(settings, bootstrap=broker.bootstrap, registry_url=registry_url)
    after_batch: list[int] = []
    processor.run(
        threading.Event(),
        until=lambda s: s.consumed >= 1,
        on_batch=lambda _s: after_batch.append(gc.get_freeze_count()),
    )
    processor.close()
    assert after_batch and after_batch[0] > 0
    assert gc.get_freeze_count() == 0

"""SourceContext.publish: one lock and one call per event when all is well; a failure is
sorted once (rejected row, or retried with backoff from that failure on), never publishing
the event twice; several threads publishing at once lose and repeat nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.base.config import RetryConfig
from connectors.base.errors import SchemaInvalid
from connectors.base.publisher import PartnerPublisher
from connectors.base.source import EventTooLarge, SourceContext
from connectors.synthetic.samples import sample_events
from hub.catalogue import Catalogue, EventType
from hub.errors import Retryable
from hub.identity import PartnerKeyStore
from hub.identity.signing import verify
from hub.kafka import CheckedProducer
from hub.registry import RegistryServer, SchemaStore
from tests.processor.stubs import FakeProducer

SLUG = "safeguarding-concern"


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    with RegistryServer(SchemaStore("sqlite://")) as server:
        yield server.url


def context(
    tmp_path: Path, catalogue: Catalogue, registry_url: str, max_bytes: int = 1_000_000
) -> tuple[SourceContext, FakeProducer, PartnerKeyStore]:
    store = PartnerKeyStore(None, tmp_path / "keys")
    ctx = SourceContext(
        name="test-source",
        partner="merseyside-police",
        signer=store.dev_signing_key("merseyside-police"),
        catalogue=catalogue,
        bootstrap="unused:9092",
        registry_url=registry_url,
        state_dir=tmp_path / "state",
        retry_policy=RetryConfig(max_attempts=3, initial_seconds=0.01, max_seconds=0.02),
    )
    raw = FakeProducer()
    ctx._producer = CheckedProducer(raw, max_bytes)  # type: ignore[arg-type]
    return ctx, raw, store


def events(concern_type: EventType, n: int, seed: int = 11) -> list[dict[str, Any]]:
    return sample_events(concern_type, "merseyside-police", n, seed=seed)


def test_threads_publishing_at_once_lose_and_repeat_nothing(
    tmp_path: Path, catalogue: Catalogue, concern_type: EventType, registry: str
) -> None:
    ctx, raw, store = context(tmp_path, catalogue, registry)
    batches = [events(concern_type, 300, seed=s) for s in range(4)]
    ids: list[str] = []
    lock = threading.Lock()

    def work(batch: list[dict[str, Any]]) -> None:
        for event in batch:
            event_id = ctx.publish(SLUG, event)
            with lock:
                ids.append(event_id)

    threads = [threading.Thread(target=work, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ctx.flush() == 1_200
    ctx.close()
    keys = store.public_keys()
    assert sorted(r["key"].decode() for r in raw.produced) == sorted(ids)
    assert len(set(ids)) == 1_200
    for r in raw.produced:
        assert verify(r["headers"], r["topic"], r["key"], r["value"], keys)


def test_an_event_the_schema_refuses_is_rejected_once_and_the_source_goes_on(
    tmp_path: Path, catalogue: Catalogue, concern_type: EventType, registry: str
) -> None:
    ctx, raw, _store = context(tmp_path, catalogue, registry)
    good, bad = events(concern_type, 2)
    bad["envelope"]["revision"] = "one"
    calls = count_publishes(ctx)
    with pytest.raises(SchemaInvalid):
        ctx.publish(SLUG, bad)
    assert calls == [1], "sorted from the first failure, not published again"
    assert ctx.publish(SLUG, good) == good["envelope"]["event_id"]
    assert ctx.flush() == 1
    assert [r["key"] for r in raw.produced] == [good["envelope"]["event_id"].encode()]
    ctx.close()


def test_an_event_too_large_is_a_rejected_row(
    tmp_path: Path, catalogue: Catalogue, concern_type: EventType, registry: str
) -> None:
    ctx, raw, _store = context(tmp_path, catalogue, registry, max_bytes=1_000)
    (event,) = events(concern_type, 1)
    with pytest.raises(EventTooLarge, match="over the 1000-byte limit"):
        ctx.publish(SLUG, event)
    assert ctx.flush() == 0 and raw.produced == []
    ctx.close()


def test_a_registry_away_is_retried_from_the_first_failure_then_raised(
    tmp_path: Path, catalogue: Catalogue, concern_type: EventType
) -> None:
    ctx, raw, _store = context(tmp_path, catalogue, "http://127.0.0.1:9")
    calls = count_publishes(ctx)
    with pytest.raises(Retryable):
        ctx.publish(SLUG, events(concern_type, 1)[0])
    assert calls == [3], "max_attempts in all, the first one included"
    assert ctx.metrics.retries.labels("test-source")._value.get() >= 2
    assert raw.pending == []
    ctx.close()


def count_publishes(ctx: SourceContext) -> list[int]:
    """Counts the calls to the (real) publisher's publish."""
    calls = [0]
    publisher = ctx.publisher(SLUG)
    real = PartnerPublisher.publish

    def counted(event: dict[str, Any]) -> str:
        calls[0] += 1
        return real(publisher, event)

    publisher.publish = counted  # type: ignore[method-assign]
    return calls

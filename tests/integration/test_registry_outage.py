"""The schema registry away while records wait: the processor retries the batch in place
(one line for the outage, one when it answers), commits nothing past it and decides every
record once the registry is back; nothing is dead-lettered and the process does not exit."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from connectors.synthetic.police import PoliceFeed
from hub.broker import EmbeddedBroker
from hub.catalogue import partner_topic
from hub.catalogue.topics import EVENTS_TOPIC
from hub.config import Settings
from hub.registry.server import RegistryServer
from hub.registry.store import SchemaStore
from tests.integration.helpers import Pipeline, Workers, wait_for

pytestmark = pytest.mark.integration

POLICE, CONCERN = "merseyside-police", "safeguarding-concern"


def test_processor_waits_out_a_registry_outage(
    broker: EmbeddedBroker, tmp_path: Path, catalogue: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = f"sqlite:///{tmp_path / 'registry.db'}"  # kept across the outage
    registry = RegistryServer(SchemaStore(store))
    registry.start()
    port = registry.port
    pipeline = Pipeline(
        broker.bootstrap,
        f"http://127.0.0.1:{port}",
        Settings(data_dir=tmp_path / "hub", consumer_group="hub-processor-registry-outage"),
    )
    pipeline.create_topics(partner_topic(POLICE, CONCERN), EVENTS_TOPIC)
    police = pipeline.publisher(POLICE, catalogue.get(CONCERN))
    for event in PoliceFeed(seed=41).events(5):
        police.publish(event)
    police.flush()
    police.close()
    registry.stop()  # the processor has never asked for the writer schema: it must now

    processor = pipeline.processor()
    workers = Workers()
    with caplog.at_level(logging.WARNING, logger="hub"):
        workers.start(lambda: processor.run(workers.stop), "processor")
        try:
            wait_for(
                lambda: any("registry is unavailable" in r.getMessage() for r in caplog.records),
                60,
                "the outage line",
                check=workers.check,
            )
            assert processor.stats.decisions == 0 and not processor.stats.deadlettered
            again = RegistryServer(SchemaStore(store), port=port)
            again.start()
            try:
                wait_for(
                    lambda: processor.stats.decisions > 0 and processor.stats.batches > 0,
                    60,
                    lambda: f"decisions after the registry came back ({processor.stats})",
                    check=workers.check,
                )
            finally:
                workers.join()
                again.stop()
        finally:
            workers.join()
            processor.close()
    workers.check()
    assert not processor.stats.deadlettered
    assert processor.stats.consumed >= 5
    lines = [r.getMessage() for r in caplog.records if "registry" in r.getMessage()]
    assert sum("registry is unavailable" in line for line in lines) == 1, lines
    assert any("answers again" in line for line in lines), lines

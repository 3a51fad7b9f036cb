"""One bench run's infrastructure: the embedded broker and registry, a data dir, the
police's safeguarding-concern topic in six partitions, the hub's output topics and the
police's signing publisher. Used by bench/processor.py, bench/memory.py and the others."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from connectors.base.publisher import PartnerPublisher
from connectors.synthetic.police import EVENT_TYPE, PARTNER
from hub.agreements.loader import load_agreements
from hub.broker import EmbeddedBroker, ensure_topics
from hub.catalogue import AUDIT_TOPIC, DEADLETTER_TOPIC, share_topic
from hub.catalogue.schemas import load_catalogue
from hub.catalogue.topics import partner_topic
from hub.config import Settings
from hub.policy.engine import PolicyEngine
from hub.processor.build import partner_keys
from hub.registry import RegistryServer, SchemaStore

PARTITIONS = 6  # split evenly between one, two or three processes


@contextlib.contextmanager
def infrastructure() -> Iterator[tuple[EmbeddedBroker, str]]:
    with EmbeddedBroker() as broker, RegistryServer(SchemaStore("sqlite://")) as registry:
        yield broker, registry.url


def recipients(settings: Settings) -> list[str]:
    """Every recipient an agreement names for police safeguarding concerns."""
    engine = PolicyEngine(load_agreements(settings.partnership_dir / "agreements"))
    return engine.candidates(PARTNER, EVENT_TYPE)


def publisher_for(settings: Settings, bootstrap: str, registry_url: str) -> PartnerPublisher:
    concern = load_catalogue(settings.schemas_dir).get(EVENT_TYPE)
    assert concern is not None
    return PartnerPublisher(
        partner=PARTNER,
        event_type=concern,
        bootstrap=bootstrap,
        registry_url=registry_url,
        signer=partner_keys(settings).dev_signing_key(PARTNER),
    )


class Hub(NamedTuple):
    broker: EmbeddedBroker
    registry_url: str
    settings: Settings
    topic: str  # the police's safeguarding-concern topic
    publisher: PartnerPublisher  # the police's, signing; the caller closes it
    outputs: list[str]  # the share topics of every recipient the agreements name


@contextlib.contextmanager
def hub_for_bench(prefix: str, *extra_topics: str) -> Iterator[Hub]:
    """A broker, a registry and a data dir for one bench run, with the police's topic in
    PARTITIONS partitions (split evenly between one, two or three processes), the hub's
    output topics and ``extra_topics`` created, and the police's publisher."""
    with (
        tempfile.TemporaryDirectory(prefix=prefix) as tmp,
        infrastructure() as (broker, registry_url),
    ):
        settings = Settings(data_dir=Path(tmp))
        topic = partner_topic(PARTNER, EVENT_TYPE)
        outputs = [share_topic(r, EVENT_TYPE) for r in recipients(settings)]
        ensure_topics(broker.bootstrap, [topic], partitions=PARTITIONS)
        ensure_topics(broker.bootstrap, [*extra_topics, DEADLETTER_TOPIC, AUDIT_TOPIC, *outputs])
        publisher = publisher_for(settings, broker.bootstrap, registry_url)
        yield Hub(broker, registry_url, settings, topic, publisher, outputs)

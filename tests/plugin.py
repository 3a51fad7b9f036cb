"""The test suite's shared infrastructure, one pytest plugin (registered in
tests/conftest.py): the embedded broker, the schema registry, and the police's publisher.

``broker`` and ``registry_url`` are per module: a module's tests share one broker, so the
suite starts one per module as it did before. Tests that need a broker of their own
(connector tests that restart or count) take ``fresh_broker`` / ``fresh_registry_url``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest

from connectors.base.publisher import PartnerPublisher
from hub.broker import EmbeddedBroker, ensure_topics
from hub.catalogue import AUDIT_TOPIC, DEADLETTER_TOPIC, EventType, partner_topic
from hub.identity.keys import SigningKey
from hub.registry import RegistryServer, SchemaStore

POLICE = "merseyside-police"
POLICE_TOPIC = partner_topic(POLICE, "safeguarding-concern")
HUB_TOPICS = (DEADLETTER_TOPIC, AUDIT_TOPIC)

PolicePublisher = Callable[..., PartnerPublisher]


def _broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as b:
        yield b


def _registry() -> Iterator[str]:
    with RegistryServer(SchemaStore("sqlite://")) as server:
        yield server.url


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedBroker]:
    yield from _broker()


@pytest.fixture(scope="module")
def registry_url() -> Iterator[str]:
    yield from _registry()


@pytest.fixture
def fresh_broker() -> Iterator[EmbeddedBroker]:
    yield from _broker()


@pytest.fixture
def fresh_registry_url() -> Iterator[str]:
    yield from _registry()


@pytest.fixture
def police_publisher(
    broker: EmbeddedBroker, registry_url: str, concern_type: EventType
) -> PolicePublisher:
    """``make(signer, topics=HUB_TOPICS)``: the police's safeguarding-concern topic and
    ``topics`` created on the module's broker, and a publisher signing with ``signer``
    (which the test closes)."""

    def make(signer: SigningKey | None, topics: Sequence[str] = HUB_TOPICS) -> PartnerPublisher:
        ensure_topics(broker.bootstrap, [POLICE_TOPIC, *topics])
        return PartnerPublisher(
            partner=POLICE,
            event_type=concern_type,
            bootstrap=broker.bootstrap,
            registry_url=registry_url,
            signer=signer,
        )

    return make

"""Real components for the analytics integration tests: embedded broker and registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.broker import EmbeddedBroker
from hub.registry import RegistryServer, SchemaStore


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as b:
        yield b


@pytest.fixture(scope="module")
def registry_url() -> Iterator[str]:
    with RegistryServer(SchemaStore("sqlite://")) as server:
        yield server.url

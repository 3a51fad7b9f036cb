"""The integration tests' hub on the module's broker and registry (tests/plugin.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.broker import EmbeddedBroker
from hub.config import Settings
from tests.integration.helpers import Pipeline
from tests.integration.services import HubProcess


@pytest.fixture
def pipeline(broker: EmbeddedBroker, registry_url: str, tmp_path: Path) -> Pipeline:
    """A hub working in this test's own folder, with the default settings."""
    return Pipeline(broker.bootstrap, registry_url, Settings(data_dir=tmp_path))


@pytest.fixture(scope="module")
def module_pipeline(
    broker: EmbeddedBroker, registry_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Pipeline]:
    """``make(name, **settings)``: a hub for a module's shared run, working in a new folder
    ``name`` with ``settings`` over the defaults (a module's own consumer group, say)."""

    def make(name: str, **settings: Any) -> Pipeline:
        work = tmp_path_factory.mktemp(name)
        return Pipeline(broker.bootstrap, registry_url, Settings(data_dir=work, **settings))

    return make


@pytest.fixture
def hub_process(tmp_path: Path, broker: EmbeddedBroker, registry_url: str) -> Iterator[HubProcess]:
    """`hub process --ingest` as a child process of this test (not started yet); killed at
    the end if a failed assertion left it running."""
    service = HubProcess(tmp_path, broker.bootstrap, registry_url)
    yield service
    service.close()

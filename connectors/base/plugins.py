"""Connector plug-ins by name: each source or sink kind registers the factory that builds it.

Building a connector is then a lookup on the configuration's ``kind`` rather than a chain
of ``isinstance`` tests in the runtime, and a new kind is one module that calls
:func:`register_source` or :func:`register_sink` (as dlt registers its destinations).
The built-in kinds are imported on first use only, so a sink never imports SQLAlchemy's
sources or the web hook's server, and a missing optional dependency stays with its kind.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from connectors.base.config import ConnectorConfig, SigningConfig
from connectors.base.errors import ConnectorConfigError
from connectors.base.health import ConnectorMetrics
from connectors.base.rejects import RejectLog
from hub.catalogue.schemas import Catalogue

if TYPE_CHECKING:
    from connectors.base.sink import SinkWriter
    from connectors.base.source import SourceContext


class Connector(Protocol):
    name: str

    def run(self, stop: threading.Event) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class BuildContext:
    """What a source factory gets: the configuration, secrets and the shared services."""

    config: ConnectorConfig
    env: Mapping[str, str]
    catalogue: Catalogue
    metrics: ConnectorMetrics
    rejects: RejectLog
    bootstrap: str
    registry_url: str

    def source_context(
        self, partner: str, signing: SigningConfig, state_dir: Path
    ) -> SourceContext:
        """Publishers, checkpoints and counters for one partner of this connector."""
        from connectors.base.source import SourceContext, resolve_signer

        return SourceContext(
            name=self.config.name,
            partner=partner,
            signer=resolve_signer(signing, self.env),
            catalogue=self.catalogue,
            bootstrap=self.bootstrap,
            registry_url=self.registry_url,
            state_dir=state_dir,
            retry_policy=self.config.retry,
            metrics=self.metrics,
            rejects=self.rejects,
        )

    def partner_context(self) -> SourceContext:
        """The context of a source that publishes as the connector's one partner."""
        assert self.config.signing is not None and self.config.partner is not None  # model
        return self.source_context(self.config.partner, self.config.signing, self.config.state_dir)


SourceFactory = Callable[[Any, BuildContext], Connector]
# A sink factory builds the writer; the runner around it (consume, receipts, commits) is
# the same for every sink.
SinkFactory = Callable[[Any, ConnectorConfig, Mapping[str, str]], "SinkWriter"]

_SOURCES: dict[str, SourceFactory] = {}
_SINKS: dict[str, SinkFactory] = {}
# Where the built-in kinds register themselves (imported on first lookup).
_BUILTIN_SOURCES = {
    "drop-folder": "connectors.sources.drop_folder",
    "webhook": "connectors.sources.webhook",
    "sql-poller": "connectors.sources.sql_poller",
    "dummy": "connectors.sources.dummy",
}
_BUILTIN_SINKS = dict.fromkeys(
    ("sql-upsert", "http-push", "file-export", "dummy"), "connectors.sinks.factories"
)


def register_source(kind: str) -> Callable[[SourceFactory], SourceFactory]:
    def add(factory: SourceFactory) -> SourceFactory:
        _SOURCES[kind] = factory
        return factory

    return add


def register_sink(kind: str) -> Callable[[SinkFactory], SinkFactory]:
    def add(factory: SinkFactory) -> SinkFactory:
        _SINKS[kind] = factory
        return factory

    return add


def _lookup(role: str, kind: str, table: dict[str, Any], builtin: dict[str, str]) -> Any:
    if kind not in table and kind in builtin:
        importlib.import_module(builtin[kind])
    factory = table.get(kind)
    if factory is None:
        known = ", ".join(sorted({*table, *builtin}))
        raise ConnectorConfigError(
            f"no {role} plug-in is registered for kind '{kind}' (known kinds: {known})"
        )
    return factory


def source_factory(kind: str) -> SourceFactory:
    factory: SourceFactory = _lookup("source", kind, _SOURCES, _BUILTIN_SOURCES)
    return factory


def sink_factory(kind: str) -> SinkFactory:
    factory: SinkFactory = _lookup("sink", kind, _SINKS, _BUILTIN_SINKS)
    return factory

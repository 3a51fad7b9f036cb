"""The connector SDK: contracts, configuration, mapping, retries, checkpoints, health.

A *source* reads a partner system (drop folder, web hook, SQL table), maps each record to a
catalogue event, publishes it signed and checkpoints; a *sink* consumes a recipient stream,
writes each disclosure once into the recipient system, sends a delivery receipt and
commits. ``hub connector run CONFIG.yaml`` runs either; see docs/partners/connectors.md.

The exports are imported when first read (hub/lazy.py): importing one part of the SDK
(``connectors.base.sink``, a plug-in's config) does not load the rest of it (the runtime
and every source and sink's libraries).
"""

from typing import TYPE_CHECKING

from hub.lazy import lazy_exports

if TYPE_CHECKING:
    from connectors.base.config import ConnectorConfig, load_config, parse_config
    from connectors.base.errors import ConnectorConfigError, ConnectorError, RecordRejected
    from connectors.base.mapping import Mapper, MappingConfig, coerce_event
    from connectors.base.plugins import Connector, register_sink, register_source
    from connectors.base.publisher import PartnerPublisher
    from connectors.base.runtime import build, check, run
    from connectors.base.sink import Delivery, Outcome, SinkRunner, SinkWriter
    from connectors.base.source import Source, SourceContext

__all__ = [
    "Connector",
    "ConnectorConfig",
    "ConnectorConfigError",
    "ConnectorError",
    "Delivery",
    "Mapper",
    "MappingConfig",
    "Outcome",
    "PartnerPublisher",
    "RecordRejected",
    "SinkRunner",
    "SinkWriter",
    "Source",
    "SourceContext",
    "build",
    "check",
    "coerce_event",
    "load_config",
    "parse_config",
    "register_sink",
    "register_source",
    "run",
]

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "Connector": "connectors.base.plugins",
            "ConnectorConfig": "connectors.base.config",
            "ConnectorConfigError": "connectors.base.errors",
            "ConnectorError": "connectors.base.errors",
            "Delivery": "connectors.base.sink",
            "Mapper": "connectors.base.mapping",
            "MappingConfig": "connectors.base.mapping",
            "Outcome": "connectors.base.sink",
            "PartnerPublisher": "connectors.base.publisher",
            "RecordRejected": "connectors.base.errors",
            "SinkRunner": "connectors.base.sink",
            "SinkWriter": "connectors.base.sink",
            "Source": "connectors.base.source",
            "SourceContext": "connectors.base.source",
            "build": "connectors.base.runtime",
            "check": "connectors.base.runtime",
            "coerce_event": "connectors.base.mapping",
            "load_config": "connectors.base.config",
            "parse_config": "connectors.base.config",
            "register_sink": "connectors.base.plugins",
            "register_source": "connectors.base.plugins",
            "run": "connectors.base.runtime",
        },
    )

"""The connector SDK: contracts, configuration, mapping, retries, checkpoints, health.

A *source* reads a partner system (drop folder, web hook, SQL table), maps each record to a
catalogue event, publishes it signed and checkpoints; a *sink* consumes a recipient stream,
writes each disclosure once into the recipient system, sends a delivery receipt and
commits. ``hub connector run CONFIG.yaml`` runs either; see docs/partners/connectors.md.
"""

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

"""The connection: bootstrap servers plus security settings, and the only maker of clients.

Every consumer, producer and admin client in the hub and the connectors is made here, so
the ``HUB_KAFKA__*`` security settings (SASL_SSL with SCRAM in the compose deployment)
reach all of them. Before this, four components built their clients from a bare
bootstrap string and could not connect to the secured deployment.

The security properties are applied last: no caller's extra setting can turn them off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from hub.errors import ConfigError
from hub.kafka.config import (
    DEFAULT_MAX_MESSAGE_BYTES,
    FETCH_WAIT_MS,
    admin_config,
    consumer_config,
    producer_config,
)
from hub.kafka.producer import CheckedProducer

if TYPE_CHECKING:
    from hub.config import Settings

_SECRET_KEYS = frozenset({"sasl.password", "ssl.key.password", "ssl.keystore.password"})


@dataclass(frozen=True)
class KafkaConnection:
    """Where the brokers are and how to authenticate to them."""

    bootstrap: str
    security: Mapping[str, Any] = field(default_factory=dict)
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    fetch_wait_ms: int = FETCH_WAIT_MS  # every consumer's fetch.wait.max.ms (config.py)

    @classmethod
    def from_settings(cls, settings: Settings, bootstrap: str | None = None) -> KafkaConnection:
        """The connection for these settings (``bootstrap`` overrides, e.g. an embedded
        broker's address). Reads the SASL password file once, here."""
        servers = bootstrap or settings.bootstrap_servers
        if not servers:
            raise ConfigError("no Kafka bootstrap servers: set HUB_BOOTSTRAP_SERVERS")
        return cls(
            servers,
            settings.kafka.client_config(),
            settings.max_message_bytes,
            settings.fetch_wait_ms,
        )

    @classmethod
    def of(cls, where: str | KafkaConnection) -> KafkaConnection:
        """A connection as given, or for a bare address with the security settings of the
        environment (``HUB_KAFKA__*``): a client is never made without them."""
        if isinstance(where, KafkaConnection):
            return where
        from hub.config import load_settings

        return cls.from_settings(load_settings(), bootstrap=where)

    def __repr__(self) -> str:
        shown = {k: ("***" if k in _SECRET_KEYS else v) for k, v in self.security.items()}
        return f"KafkaConnection({self.bootstrap!r}, security={shown})"

    # -- configurations (pure: the unit tests read them) ------------------------------

    def consumer_config(self, group: str, **extra: Any) -> dict[str, Any]:
        waits = {"fetch.wait.max.ms": self.fetch_wait_ms, **extra}
        return {**consumer_config(self.bootstrap, group, **waits), **self.security}

    def producer_config(self, **extra: Any) -> dict[str, Any]:
        conf = producer_config(self.bootstrap, **{"message.max.bytes": self.max_message_bytes})
        return {**conf, **extra, **self.security}

    def admin_config(self, **extra: Any) -> dict[str, Any]:
        return {**admin_config(self.bootstrap), **extra, **self.security}

    # -- clients ------------------------------------------------------------------------

    def consumer(self, group: str, **extra: Any) -> Consumer:
        return Consumer(self.consumer_config(group, **extra))

    def producer(self, **extra: Any) -> CheckedProducer:
        """A checked producer (size rule, BufferError back-off, delivery errors kept).
        Delivery reports only for failures: a report per record cost a Python callback
        per record on the processor's hot path."""
        conf = self.producer_config(**{"delivery.report.only.error": True, **extra})
        return CheckedProducer(Producer(conf), int(conf["message.max.bytes"]))

    def admin(self, **extra: Any) -> AdminClient:
        return AdminClient(self.admin_config(**extra))

    def faust_broker(self) -> dict[str, Any]:
        """faust-streaming's form of the same settings: ``broker`` and
        ``broker_credentials`` for ``faust.App``."""
        return {
            "broker": f"kafka://{self.bootstrap}",
            "broker_credentials": faust_credentials(self.security),
        }


def faust_credentials(security: Mapping[str, Any]) -> Any:
    """librdkafka security properties as faust (aiokafka) credentials; None for plaintext."""
    protocol = str(security.get("security.protocol", "PLAINTEXT"))
    if protocol == "PLAINTEXT":
        return None
    import ssl

    import faust  # type: ignore[import-untyped]

    ca = security.get("ssl.ca.location")
    context = ssl.create_default_context(cafile=ca) if protocol.endswith("SSL") else None
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    return faust.SASLCredentials(
        username=security["sasl.username"],
        password=security["sasl.password"],
        mechanism=security["sasl.mechanisms"],
        ssl_context=context,
    )

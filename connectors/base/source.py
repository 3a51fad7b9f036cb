"""What every source shares: signed publishing per event type, rejects, checkpoints, metrics.

A source reads records from a partner system, maps each to an event, publishes it signed
(:class:`~connectors.base.publisher.PartnerPublisher`), and checkpoints only once the
broker acknowledged everything before the checkpoint. A record that cannot become an event
(:class:`~connectors.base.errors.RecordRejected`) goes to the reject output and the source
carries on; a transient failure (``Retryable``) is retried with backoff; anything else
stops the connector so the service manager restarts it from the last checkpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from confluent_kafka.serialization import SerializationError

from connectors.base.checkpoint import Checkpoints
from connectors.base.config import RetryConfig, SigningConfig, require_env
from connectors.base.errors import ConnectorConfigError, RecordRejected, SchemaInvalid
from connectors.base.health import ConnectorMetrics
from connectors.base.publisher import PartnerPublisher
from connectors.base.rejects import RejectLog
from connectors.base.retry import retry
from hub.catalogue.schemas import Catalogue, EventType
from hub.identity.keys import PartnerKeyStore, SigningKey
from hub.kafka import CheckedProducer, KafkaConnection, RecordTooLarge
from hub.translate import registry_errors


class EventTooLarge(RecordRejected):
    code = "too-large"


class Source(Protocol):
    """A source connector: runs until ``stop`` is set, then returns after a clean checkpoint."""

    name: str

    def run(self, stop: threading.Event) -> None: ...

    def close(self) -> None: ...


def _publish(
    publisher: PartnerPublisher, event: dict[str, Any], failed: Exception | None = None
) -> str:
    """Publish, sorting the serializer's errors into the hub's tree: an event the schema
    refuses is rejected; a registry that does not answer is retried. ``failed``: the error
    a first, untranslated attempt already raised (the fast path), sorted here the same way
    instead of publishing the event again."""
    try:
        with registry_errors(
            f"the {publisher.event_type.slug} schema",
            lambda message, _status: ConnectorConfigError(
                f"schema registry refused the schema: {message}"
            ),
            passthrough=(SerializationError, RecordTooLarge),
        ):
            if failed is not None:
                raise failed
            return publisher.publish(event)
    except RecordTooLarge as exc:
        # The row's own fault: rejected with where it is, and the source carries on (a
        # stopped connector would meet the same row at every restart).
        raise EventTooLarge(
            f"the {publisher.event_type.slug} event is {exc.size} bytes, over the "
            f"{exc.limit}-byte limit",
            fix="shorten free text or move attachments out of the event",
        ) from exc
    except SerializationError as exc:
        raise SchemaInvalid(
            f"the {publisher.event_type.slug} schema refused the event: {exc}"
        ) from exc


def resolve_signer(signing: SigningConfig, env: Mapping[str, str]) -> SigningKey:
    """The partner's signing key, from an environment variable (PEM or a path to a PEM file)
    or, in development, from the generated key folder."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    partner, _, key_name = signing.key_id.partition("/")
    if signing.dev_keys_dir is not None:
        return PartnerKeyStore(None, signing.dev_keys_dir).dev_signing_key(partner, key_name)
    raw = require_env(env, str(signing.private_key_env)).get_secret_value()
    if not raw.lstrip().startswith("-----BEGIN"):
        try:
            raw = Path(raw).read_text()
        except OSError:
            raise ConnectorConfigError(
                f"{signing.private_key_env} is neither a PEM key nor a readable PEM file"
            ) from None
    try:
        key = serialization.load_pem_private_key(raw.encode(), password=None)
    except ValueError:
        raise ConnectorConfigError(f"{signing.private_key_env} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConnectorConfigError(f"{signing.private_key_env} is not an Ed25519 key")
    return SigningKey(signing.key_id, key)


@dataclass
class SourceCounts:
    read: int = 0
    published: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def reject(self, code: str) -> None:
        self.rejected[code] = self.rejected.get(code, 0) + 1


class SourceContext:
    """Publishers, reject log, checkpoints and metrics of one source connector."""

    def __init__(
        self,
        *,
        name: str,
        partner: str,
        signer: SigningKey,
        catalogue: Catalogue,
        bootstrap: str | KafkaConnection,
        registry_url: str,
        state_dir: Path,
        retry_policy: RetryConfig | None = None,
        metrics: ConnectorMetrics | None = None,
        rejects: RejectLog | None = None,
    ) -> None:
        self.name = name
        self.partner = partner
        self.signer = signer
        self.catalogue = catalogue
        # A bare address gets the environment's HUB_KAFKA__* security settings.
        self.kafka = KafkaConnection.of(bootstrap)
        self.bootstrap = self.kafka.bootstrap
        self.registry_url = registry_url
        self.state_dir = state_dir
        self.retry_policy = retry_policy or RetryConfig()
        self.metrics = metrics or ConnectorMetrics(name)
        self.rejects = rejects or RejectLog(state_dir / "rejects", name)
        self.checkpoints = Checkpoints(state_dir / "checkpoint.db")
        self.counts = SourceCounts()
        self._producer: CheckedProducer | None = None
        self._publishers: dict[str, PartnerPublisher] = {}
        self._pending: dict[str, int] = {}
        self._lock = threading.Lock()

    def event_type(self, slug: str) -> EventType:
        et = self.catalogue.get(slug)
        if et is None:
            raise ConnectorConfigError(f"unknown event type '{slug}' (not in the catalogue)")
        return et

    def publisher(self, slug: str) -> PartnerPublisher:
        if slug not in self._publishers:
            if self._producer is None:
                self._producer = self.kafka.producer()
            self._publishers[slug] = PartnerPublisher(
                partner=self.partner,
                event_type=self.event_type(slug),
                bootstrap=self.kafka,
                registry_url=self.registry_url,
                signer=self.signer,
                producer=self._producer,
            )
        return self._publishers[slug]

    def publish(self, slug: str, event: dict[str, Any]) -> str:
        """Queue a signed event; it counts as published once :meth:`flush` returns.

        Thread-safe (a web hook publishes from its request threads). The common case costs
        one lock and one call: only a failure goes through the retry and the translation
        of errors, starting from that failure, so nothing is published twice."""
        with self._lock:
            publisher = self._publishers.get(slug) or self.publisher(slug)
            try:
                event_id = publisher.publish(event)
            except Exception as exc:
                event_id = self._publish_again(slug, publisher, event, exc)
            self._pending[slug] = self._pending.get(slug, 0) + 1
        return event_id

    def _publish_again(
        self, slug: str, publisher: PartnerPublisher, event: dict[str, Any], failed: Exception
    ) -> str:
        """The slow path: ``failed`` sorted as the hub's error; a retryable one retried
        with backoff (the registry away at the first event, say)."""
        first: list[Exception] = [failed]
        return retry(
            lambda: _publish(publisher, event, first.pop() if first else None),
            self.retry_policy,
            what=f"{self.name}: registering the {slug} schema",
            on_retry=lambda _e: self.metrics.retries.labels(self.name).inc(),
        )

    def flush(self, stop: threading.Event | None = None) -> int:
        """Wait until the broker acknowledged every queued event; returns how many.

        A delivery error is never cleared by a retry: the connector then stops and
        replays from its last checkpoint, so no event is silently lost."""
        with self._lock:
            for slug, publisher in self._publishers.items():
                if not self._pending.get(slug):
                    continue
                retry(
                    publisher.flush,
                    self.retry_policy,
                    stop=stop,
                    what=f"{self.name}: flushing {slug}",
                    on_retry=lambda _e: self.metrics.retries.labels(self.name).inc(),
                )
            done = sum(self._pending.values())
            for slug, n in self._pending.items():
                if n:
                    self.metrics.published.labels(self.name, slug).inc(n)
            self._pending.clear()
            self.counts.published += done
        self.metrics.progress()
        return done

    def reject(self, where: dict[str, Any], error: RecordRejected) -> dict[str, Any]:
        self.counts.reject(error.code)
        self.metrics.rejected.labels(self.name, error.code).inc()
        return self.rejects.write(where=where, code=error.code, reason=str(error))

    def read(self, n: int = 1) -> None:
        self.counts.read += n
        self.metrics.read.labels(self.name).inc(n)

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close()
                self._producer = None
        self.checkpoints.close()

"""Typed settings for every hub service.

Values come from arguments first, then ``HUB_*`` environment variables, then defaults
that run everything locally (embedded broker, embedded registry, SQLite under ``.hub/``).
Nothing is read at import time: call :func:`load_settings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.errors import ConfigError


def project_root() -> Path:
    """The checkout the hub runs from: holds schemas/ and partnership/."""
    return Path(__file__).resolve().parent.parent


class KafkaSecurity(BaseModel):
    """How clients authenticate to Apache Kafka in production (``HUB_KAFKA__*``). The
    embedded broker needs none of it. The password is read from a file (a mounted secret),
    never from the environment or a command line."""

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] | None = None
    sasl_username: str | None = None
    sasl_password_file: Path | None = None
    ssl_ca_location: Path | None = None

    def client_config(self) -> dict[str, Any]:
        """librdkafka properties for these settings (empty for plaintext)."""
        conf: dict[str, Any] = {}
        if self.security_protocol != "PLAINTEXT":
            conf["security.protocol"] = self.security_protocol
        if self.ssl_ca_location is not None:
            conf["ssl.ca.location"] = str(self.ssl_ca_location)
        if self.security_protocol.startswith("SASL"):
            if not (self.sasl_mechanism and self.sasl_username and self.sasl_password_file):
                raise ConfigError(
                    "SASL needs HUB_KAFKA__SASL_MECHANISM, HUB_KAFKA__SASL_USERNAME and "
                    "HUB_KAFKA__SASL_PASSWORD_FILE"
                )
            try:
                password = self.sasl_password_file.read_text().strip()
            except OSError as exc:
                raise ConfigError(
                    f"cannot read the Kafka password file {self.sasl_password_file}: {exc.strerror}"
                ) from exc
            conf["sasl.mechanisms"] = self.sasl_mechanism
            conf["sasl.username"] = self.sasl_username
            conf["sasl.password"] = password
        return conf


class Settings(BaseSettings):
    """Settings shared by the processor, sinks and the demo."""

    model_config = SettingsConfigDict(env_prefix="HUB_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(
        default=Path(".hub"),
        description="Where local state lives: SQLite databases, development keys, logs.",
    )
    schemas_dir: Path = Field(default_factory=lambda: project_root() / "schemas" / "avro")
    partnership_dir: Path = Field(default_factory=lambda: project_root() / "partnership")

    bootstrap_servers: str | None = Field(
        default=None,
        description="Kafka bootstrap servers. The services (hub process, audit ingest, "
        "connector run) require it; hub demo and hub sandbox start an embedded broker and "
        "set it for the services they run.",
    )
    schema_registry_url: str | None = Field(
        default=None,
        description="Schema registry URL. The services require it; hub demo and hub sandbox "
        "start the embedded registry and set it for the services they run.",
    )
    audit_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the audit store; unset means SQLite in data_dir.",
    )

    pseudonym_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description=(
            "Pseudonymisation keys by linkage domain (HUB_PSEUDONYM_KEYS__<DOMAIN>): one "
            "base64 key (key id 'cfg1'), or several versions '<id>:<base64>,<id>:<base64>' "
            "with the current one first, e.g. 'k2:<new>,k1:<old>'. Unset domains get a "
            "development key ring generated into data_dir on first use."
        ),
    )

    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log lines as text for people or JSON objects for log shippers "
        "(HUB_LOG_FORMAT); never personal data either way.",
    )
    tracing: str = Field(
        default="none", description="Span exporter: none, console or otlp (HUB_TRACING)."
    )
    metrics_port: int | None = Field(
        default=None, description="Serve Prometheus /metrics on this port (HUB_METRICS_PORT)."
    )
    metrics_host: str = Field(
        default="127.0.0.1",
        description="Address /metrics listens on (HUB_METRICS_HOST; 0.0.0.0 in containers).",
    )
    consumer_group: str = "hub-processor"
    kafka: KafkaSecurity = Field(default_factory=KafkaSecurity)
    transactions: bool = Field(
        default=False,
        description=(
            "Produce each batch's outputs, audit records and offsets in one Kafka transaction "
            "(Apache Kafka only; the embedded broker does not isolate aborted transactions). "
            "Correctness does not depend on it: outputs are idempotent by disclosure id."
        ),
    )
    audit_ingest_group: str = Field(
        default="hub-audit-ingest",
        description="Consumer group of the audit ingester (hub.audit.v1 -> audit store).",
    )
    batch_size: int = Field(default=2000, ge=1)
    batch_wait_ms: int = Field(
        default=50,
        ge=1,
        description=(
            "How long a poll waits for the first record when the stream is quiet. Records "
            "are decided as soon as they arrive, in batches of what has arrived (up to "
            "batch_size): batches grow with the rate."
        ),
    )
    fetch_wait_ms: int = Field(
        default=5,  # hub.kafka.config.FETCH_WAIT_MS, where the measurements are
        ge=1,
        le=500,
        description=(
            "Every consumer's fetch.wait.max.ms (HUB_FETCH_WAIT_MS). The embedded broker "
            "finds a new record only at its next scan within this wait, on every hop "
            "(partner -> processor, processor -> sink): keep it short there. Apache Kafka "
            "answers as soon as data arrives, so there a larger value (100-500) only saves "
            "idle requests."
        ),
    )
    max_record_bytes: int = Field(
        default=1_000_000,
        ge=1024,
        description="Largest partner record the processor decides (HUB_MAX_RECORD_BYTES); "
        "larger ones are dead-lettered by reference.",
    )
    max_message_bytes: int = Field(
        default=1_048_576,
        ge=16_384,
        description=(
            "The producers' largest record (HUB_MAX_MESSAGE_BYTES): keep it at or under the "
            "broker's message.max.bytes and the topics' max.message.bytes (Apache Kafka's "
            "default is 1,048,588). A record over it is refused by the hub before it is "
            "sent: an input that would not fit is dead-lettered by reference."
        ),
    )
    gc_freeze: bool = Field(
        default=True,
        description=(
            "After the first batch, move the processor's long-lived objects out of the "
            "garbage collector's reach (gc.freeze): full collections then pause the loop "
            "for about 10 ms instead of 100-160 ms (hub/processor/heap.py)."
        ),
    )
    verify_process: bool = Field(
        default=True,
        description=(
            "Check partner signatures in a helper process (python -m "
            "hub.identity.verify_worker) rather than on a thread of the processor: no GIL "
            "hand-off per record. Falls back to a thread if the helper fails."
        ),
    )
    ledger_store: Literal["disk", "memory"] = Field(
        default="disk",
        description=(
            "Where the processor keeps its events ledger, every (partner, event id) it has "
            "decided (HUB_LEDGER_STORE): disk, a file of each process's own under "
            "<data dir>/ledger-cache rebuilt at every start, with memory flat as it grows; "
            "or memory, a few µs an event faster, about 140-600 bytes of memory an event "
            "(hub/processor/ledger_store.py)."
        ),
    )
    ledger_rebuild: Literal["auto", "always", "off"] = Field(
        default="auto",
        description=(
            "Rebuild the events ledger from the audit store at start (HUB_LEDGER_REBUILD): "
            "auto, when hub.events.v1 gave no entry and the store holds decisions (the "
            "embedded broker restarts empty); always, at every start, filling only missing "
            "entries (after an interrupted rebuild or a deleted topic); off, never "
            "(hub/processor/ledger_seed.py)."
        ),
    )
    processor_instance: str = Field(default="hub-processor-0")

    @field_validator("pseudonym_keys")
    @classmethod
    def _keys_parse(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        """Fail at start-up, not at the first token, on a malformed or weak key.

        Errors name the domain and key id only, and the value stays a SecretStr, so no
        secret reaches a message or a log.
        """
        if not value:
            return value
        # Imported here: settings load without the privacy package unless keys are set.
        from hub.privacy.keys import parse_key_spec

        for domain, spec in value.items():
            parse_key_spec(domain.lower(), spec.get_secret_value())
        return {domain.lower(): spec for domain, spec in value.items()}

    def resolved_audit_url(self) -> str:
        return self.audit_url or f"sqlite:///{(self.data_dir / 'audit.db').resolve()}"


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, with explicit overrides taking precedence."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})

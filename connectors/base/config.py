"""Typed connector configuration: one YAML file, secrets only from environment variables.

A configuration names what the connector is (a ``source`` that publishes a partner's events,
or a ``sink`` that delivers a recipient's stream), where the hub is, where its state lives,
how to retry and where to serve health and metrics. Every secret (signing key, database
password, API token, web hook digest key) is referenced by the *name* of an environment
variable (``*_env`` keys); a literal secret in the YAML is refused at load time, so a
configuration file can be reviewed, versioned and shared without leaking anything.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from connectors.base.choice import exactly_one
from connectors.base.errors import ConnectorConfigError
from connectors.base.mapping import MappingConfig

_SECRET_KEY = re.compile(r"(password|passwd|secret|token|private_key|api_key|credential)", re.I)
_ALLOWED_SUFFIXES = ("_env", "_digest", "_digests", "_id")
_ID = r"^[a-z0-9][a-z0-9-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PluginConfig(_Model):
    """What every source or sink configuration tells the runtime without the runtime
    knowing its kind: the plug-in is looked up by ``kind`` (connectors/base/plugins.py)."""

    # A source whose partners each sign with their own key (the web hook) needs no
    # connector-level partner and signing.
    signs_per_partner: ClassVar[bool] = False

    def secret_envs(self) -> list[str]:
        """Environment variables this plug-in needs at run time (``check`` asks for them)."""
        return []

    def event_routes(self) -> list[tuple[str, MappingConfig | None]]:
        """The event types it publishes, each with its column mapping (sources)."""
        return []


class HubEndpoints(_Model):
    bootstrap_servers: str | None = Field(
        default=None, description="Kafka bootstrap servers (else HUB_BOOTSTRAP_SERVERS)."
    )
    schema_registry_url: str | None = Field(
        default=None, description="Schema registry URL (else HUB_SCHEMA_REGISTRY_URL)."
    )
    schemas_dir: Path | None = Field(
        default=None, description="Catalogue schemas (default: the hub's schemas/avro)."
    )


class SigningConfig(_Model):
    key_id: str = Field(description="'<partner>/<key name>', as registered with the hub.")
    private_key_env: str | None = Field(
        default=None,
        description="Environment variable holding the Ed25519 private key (PEM), or a path "
        "to a PEM file (e.g. a systemd credential or a Kubernetes secret mount).",
    )
    dev_keys_dir: Path | None = Field(
        default=None, description="Development only: generate/read keys in this folder."
    )

    @model_validator(mode="after")
    def _one(self) -> SigningConfig:
        exactly_one(self, "private_key_env", "dev_keys_dir")
        if "/" not in self.key_id:
            raise ValueError("key_id is '<partner>/<key name>'")
        return self


class RetryConfig(_Model):
    """Exponential backoff for transient errors (broker, registry, database, recipient API)."""

    max_attempts: int = Field(default=8, ge=1)
    initial_seconds: float = Field(default=0.5, gt=0)
    max_seconds: float = Field(default=30.0, gt=0)
    multiplier: float = Field(default=2.0, ge=1)
    jitter: float = Field(default=0.2, ge=0, le=1)


class HealthConfig(_Model):
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, description="Serve /healthz and /metrics here.")


class FileRoute(_Model):
    pattern: str = Field(description="Glob on the file name, e.g. 'concerns-*.csv'.")
    event_type: str
    format: Literal["csv", "jsonl"] = "csv"
    mapping: MappingConfig | None = Field(
        default=None,
        description="Column mapping; without one, each JSON line is an event in the "
        "catalogue's JSON shape (CSV always needs a mapping).",
    )
    delimiter: str = ","
    encoding: str = Field(default="utf-8-sig", description="utf-8-sig also reads Excel's BOM.")

    @model_validator(mode="after")
    def _csv_needs_mapping(self) -> FileRoute:
        if self.format == "csv" and self.mapping is None:
            raise ValueError("a CSV route needs a mapping")
        return self


class DropFolderSourceConfig(PluginConfig):
    kind: Literal["drop-folder"]
    inbox: Path
    processed: Path | None = Field(default=None, description="Default <inbox>/../processed.")
    rejected: Path | None = Field(default=None, description="Default <inbox>/../rejected.")
    files: list[FileRoute] = Field(min_length=1)
    settle_seconds: float = Field(
        default=2.0, ge=0, description="A file is read once its size and mtime stay unchanged."
    )
    poll_seconds: float = Field(default=1.0, gt=0)
    batch_rows: int = Field(default=500, ge=1, description="Rows per checkpoint.")

    def event_routes(self) -> list[tuple[str, MappingConfig | None]]:
        return [(r.event_type, r.mapping) for r in self.files]


class WebhookPartner(_Model):
    token_digest: str = Field(
        description="HMAC-SHA256 (hex) of the partner's token under the digest key; "
        "`hub connector digest` computes it. The token itself is never stored."
    )
    signing: SigningConfig
    event_types: list[str] = Field(min_length=1)


class WebhookSourceConfig(PluginConfig):
    kind: Literal["webhook"]
    host: str = "127.0.0.1"
    port: int = 8088
    digest_key_env: str = Field(description="Environment variable with the digest HMAC key.")
    partners: dict[str, WebhookPartner] = Field(min_length=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)

    signs_per_partner: ClassVar[bool] = True

    def secret_envs(self) -> list[str]:
        keys = [p.signing.private_key_env for p in self.partners.values()]
        return [self.digest_key_env, *(k for k in keys if k)]

    def event_routes(self) -> list[tuple[str, MappingConfig | None]]:
        return [(slug, None) for p in self.partners.values() for slug in p.event_types]


class _SqlUrl(PluginConfig):
    url: str | None = Field(default=None, description="SQLAlchemy URL without a password.")
    url_env: str | None = Field(
        default=None, description="Environment variable holding the URL (with credentials)."
    )

    @model_validator(mode="after")
    def _url(self) -> Any:
        exactly_one(self, "url", "url_env")
        if self.url and urlsplit(self.url).password:
            raise ValueError("the url carries a password: put the whole URL in url_env instead")
        return self

    def resolve_url(self, env: Mapping[str, str]) -> SecretStr:
        if self.url is not None:
            return SecretStr(self.url)
        return require_env(env, str(self.url_env))

    def secret_envs(self) -> list[str]:
        return [self.url_env] if self.url_env else []


class SqlPollerSourceConfig(_SqlUrl):
    kind: Literal["sql-poller"]
    table: str
    watermark_column: str = Field(description="Increases with every new or changed row.")
    key_column: str = Field(description="Unique per row; breaks ties between equal watermarks.")
    event_type: str
    mapping: MappingConfig
    batch_rows: int = Field(default=500, ge=1)
    poll_seconds: float = Field(default=5.0, gt=0)
    deleted_column: str | None = Field(
        default=None,
        description="Soft-delete column (issue 18): a row where it is set (not null, not "
        "false, not 0) is published as an event-retraction of the row's event.",
    )
    retraction_reason: str = Field(
        default="RAISED_IN_ERROR",
        description="The reason sent with a soft-deleted row (RAISED_IN_ERROR, WRONG_PERSON, "
        "DUPLICATE, COURT_ORDER, OTHER), unless retraction_reason_column names one per row.",
    )
    retraction_reason_column: str | None = None

    def event_routes(self) -> list[tuple[str, MappingConfig | None]]:
        return [(self.event_type, self.mapping)]


class DummySourceConfig(PluginConfig):
    kind: Literal["dummy"]
    event_type: str
    count: int = Field(default=10, ge=0)
    seed: int = 0

    def event_routes(self) -> list[tuple[str, MappingConfig | None]]:
        return [(self.event_type, None)]


# What a retraction notice does at a sink (issue 18): "delete" the personal data and keep a
# tombstone with the reason, or "flag" the rows retracted (only where the agreement says so).
OnRetraction = Literal["delete", "flag"]


class SqlUpsertSinkConfig(_SqlUrl):
    kind: Literal["sql-upsert"]
    table: Literal["mash_referrals", "iom_nominals", "msn_cases"]
    on_retraction: OnRetraction = "delete"


class HttpPushSinkConfig(PluginConfig):
    kind: Literal["http-push"]
    url: str
    token_env: str | None = Field(default=None, description="Bearer token for the API.")
    timeout_seconds: float = Field(default=10.0, gt=0)

    def secret_envs(self) -> list[str]:
        return [self.token_env] if self.token_env else []


class FileExportSinkConfig(PluginConfig):
    kind: Literal["file-export"]
    directory: Path
    format: Literal["jsonl", "csv"] = "jsonl"
    on_retraction: OnRetraction = "delete"


class DummySinkConfig(PluginConfig):
    kind: Literal["dummy"]
    path: Path = Field(description="JSON lines of what was delivered.")


class RetentionConfig(_Model):
    """Sinks (issue 18): how the sink enforces its agreements' retention. The periods are the
    ``retention`` of the agreements that share with the recipient (``agreements_dir``, by
    default the hub's partnership/agreements); ``periods`` names one per agreement id
    instead (e.g. a recipient site without the agreement files)."""

    enabled: bool = Field(default=True, description="Delete rows past retention.")
    every_seconds: float = Field(default=3600.0, gt=0, description="How often it runs.")
    agreements_dir: Path | None = None
    periods: dict[str, str] = Field(
        default_factory=dict, description="Agreement id -> ISO 8601 period, e.g. P6Y."
    )


SourceConfig = Annotated[
    DropFolderSourceConfig | WebhookSourceConfig | SqlPollerSourceConfig | DummySourceConfig,
    Field(discriminator="kind"),
]
SinkConfig = Annotated[
    SqlUpsertSinkConfig | HttpPushSinkConfig | FileExportSinkConfig | DummySinkConfig,
    Field(discriminator="kind"),
]


class ConnectorConfig(_Model):
    name: str = Field(pattern=_ID, description="Names state, consumer group and metrics.")
    partner: str | None = Field(default=None, description="Publishing partner (sources).")
    recipient: str | None = Field(default=None, description="Receiving service (sinks).")
    system: str | None = Field(
        default=None, description="The recipient system named in receipts (default the name)."
    )
    hub: HubEndpoints = Field(default_factory=HubEndpoints)
    signing: SigningConfig | None = None
    state_dir: Path = Field(description="Checkpoints, reports, reject logs.")
    health: HealthConfig = Field(default_factory=HealthConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    batch_size: int = Field(default=500, ge=1, description="Sinks: records per batch.")
    source: SourceConfig | None = None
    sink: SinkConfig | None = None
    retention: RetentionConfig = Field(default_factory=RetentionConfig)

    @model_validator(mode="before")
    @classmethod
    def _type_is_now_kind(cls, data: Any) -> Any:
        """``type:`` was renamed ``kind:``; files written before still load (the same value,
        the same meaning), and a file giving both is refused rather than guessed at."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for part in ("source", "sink"):
            block = data.get(part)
            if isinstance(block, Mapping) and "type" in block:
                if "kind" in block:
                    raise ValueError(
                        f"{part}: give 'kind' only ('type' is its old name, now 'kind')"
                    )
                block = dict(block)
                block["kind"] = block.pop("type")
                data[part] = block
        return data

    @model_validator(mode="after")
    def _shape(self) -> ConnectorConfig:
        exactly_one(self, "source", "sink")
        if self.sink is not None and not self.recipient:
            raise ValueError("a sink needs 'recipient'")
        if self.source is not None and not self.source.signs_per_partner:
            if not self.partner:
                raise ValueError("a source needs 'partner'")
            if self.signing is None:
                raise ValueError("a source needs 'signing'")
            if self.signing.key_id.split("/", 1)[0] != self.partner:
                raise ValueError("signing.key_id must belong to the partner")
        return self

    @property
    def system_name(self) -> str:
        return self.system or self.name

    def bootstrap(self, env: Mapping[str, str]) -> str:
        value = self.hub.bootstrap_servers or env.get("HUB_BOOTSTRAP_SERVERS")
        if not value:
            raise ConnectorConfigError("set hub.bootstrap_servers or HUB_BOOTSTRAP_SERVERS")
        return value

    def registry_url(self, env: Mapping[str, str]) -> str:
        value = self.hub.schema_registry_url or env.get("HUB_SCHEMA_REGISTRY_URL")
        if not value:
            raise ConnectorConfigError("set hub.schema_registry_url or HUB_SCHEMA_REGISTRY_URL")
        return value

    def schemas_dir(self) -> Path:
        if self.hub.schemas_dir is not None:
            return self.hub.schemas_dir
        from hub.config import project_root

        return project_root() / "schemas" / "avro"


def require_env(env: Mapping[str, str], name: str) -> SecretStr:
    value = env.get(name)
    if not value:
        raise ConnectorConfigError(f"environment variable {name} is not set")
    return SecretStr(value)


def _refuse_secrets(node: Any, where: str = "") -> None:
    """Literal secrets in YAML are refused: only names of environment variables."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            path = f"{where}.{key}" if where else str(key)
            if (
                isinstance(key, str)
                and _SECRET_KEY.search(key)
                and not key.endswith(_ALLOWED_SUFFIXES)
                and isinstance(value, str | int)
            ):
                raise ConnectorConfigError(
                    f"{path}: secrets do not belong in the configuration file; "
                    f"put the value in an environment variable and name it in '{key}_env'"
                )
            _refuse_secrets(value, path)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _refuse_secrets(item, f"{where}[{i}]")


def _resolve_paths(config: ConnectorConfig, base: Path) -> ConnectorConfig:
    """Relative paths in the YAML are relative to the file, not to the working directory."""

    def fix(model: BaseModel) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, Path) and not value.is_absolute():
                setattr(model, name, base / value)
            elif isinstance(value, BaseModel):
                fix(value)
            elif isinstance(value, list | dict):
                items = value.values() if isinstance(value, dict) else value
                for item in items:
                    if isinstance(item, BaseModel):
                        fix(item)

    fix(config)
    return config


def parse_config(data: Any, base: Path | None = None) -> ConnectorConfig:
    if not isinstance(data, Mapping):
        raise ConnectorConfigError("a connector configuration is a YAML mapping")
    _refuse_secrets(data)
    try:
        config = ConnectorConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        )
        raise ConnectorConfigError(f"invalid connector configuration: {problems}") from None
    return _resolve_paths(config, base) if base is not None else config


def load_config(path: Path) -> ConnectorConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConnectorConfigError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConnectorConfigError(f"{path} is not valid YAML: {exc}") from None
    return parse_config(data, path.resolve().parent)


def environment() -> Mapping[str, str]:
    """The process environment; a function so nothing is read at import time."""
    return os.environ

"""Build a connector from its configuration, run it as a service, or check it dry.

``run`` installs SIGTERM/SIGINT handlers that ask the connector to stop: a source finishes
the row or request in hand, waits for the broker and checkpoints; a sink finishes its
batch, sends receipts and commits. Health and metrics are served when configured.
``check`` builds everything that can be built without the hub (configuration, secrets,
catalogue, mappings) and, given a sample export, maps it row by row without publishing.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from connectors.base.config import (
    ConnectorConfig,
    DropFolderSource,
    DummySink,
    DummySource,
    FileExportSink,
    HttpPushSink,
    SqlPollerSource,
    SqlUpsertSink,
    WebhookSource,
    require_env,
)
from connectors.base.errors import ConnectorConfigError, RecordRejected
from connectors.base.health import ConnectorMetrics, HealthServer
from connectors.base.mapping import Mapper, coerce_event
from connectors.base.rejects import RejectLog
from connectors.base.retry import Stopped
from connectors.base.sink import SinkRunner, SinkWriter
from connectors.base.source import SourceContext, resolve_signer
from hub.catalogue.schemas import Catalogue, load_catalogue

log = logging.getLogger(__name__)


class Connector(Protocol):
    name: str

    def run(self, stop: threading.Event) -> None: ...

    def close(self) -> None: ...


def build(
    config: ConnectorConfig,
    env: Mapping[str, str],
    *,
    catalogue: Catalogue | None = None,
    metrics: ConnectorMetrics | None = None,
) -> Connector:
    """The connector a configuration describes, ready to ``run``."""
    catalogue = catalogue or load_catalogue(config.schemas_dir())
    metrics = metrics or ConnectorMetrics(config.name)
    bootstrap, registry_url = config.bootstrap(env), config.registry_url(env)
    rejects = RejectLog(config.state_dir / "rejects", config.name)
    if config.sink is not None:
        return SinkRunner(
            name=config.name,
            recipient=str(config.recipient),
            writer=build_writer(config, env),
            bootstrap=bootstrap,
            registry_url=registry_url,
            rejects=rejects,
            retry_policy=config.retry,
            metrics=metrics,
            batch_size=config.batch_size,
        )
    source = config.source
    if isinstance(source, WebhookSource):
        from connectors.sources.webhook import WebhookReceiver
        from connectors.sources.webhook import WebhookSource as Receiver

        contexts = {
            partner: SourceContext(
                name=config.name,
                partner=partner,
                signer=resolve_signer(p.signing, env),
                catalogue=catalogue,
                bootstrap=bootstrap,
                registry_url=registry_url,
                state_dir=config.state_dir / partner,
                retry_policy=config.retry,
                metrics=metrics,
                rejects=rejects,
            )
            for partner, p in source.partners.items()
        }
        key = require_env(env, source.digest_key_env).get_secret_value().encode()
        receiver = WebhookReceiver(
            source,
            name=config.name,
            digest_key=key,
            contexts=contexts,
            rejects=rejects,
            metrics=metrics,
        )
        return Receiver(receiver, source.host, source.port)
    assert config.signing is not None and config.partner is not None  # checked by the model
    ctx = SourceContext(
        name=config.name,
        partner=config.partner,
        signer=resolve_signer(config.signing, env),
        catalogue=catalogue,
        bootstrap=bootstrap,
        registry_url=registry_url,
        state_dir=config.state_dir,
        retry_policy=config.retry,
        metrics=metrics,
        rejects=rejects,
    )
    if isinstance(source, DropFolderSource):
        from connectors.sources.drop_folder import DropFolderSource as DropFolder

        return DropFolder(source, ctx)
    if isinstance(source, SqlPollerSource):
        from connectors.sources.sql_poller import SqlPollerSource as Poller

        return Poller(source, ctx, source.resolve_url(env).get_secret_value())
    if isinstance(source, DummySource):
        from connectors.sources.dummy import DummySource as Dummy

        return Dummy(source, ctx)
    raise ConnectorConfigError(f"unknown source type {type(source).__name__}")


def build_writer(config: ConnectorConfig, env: Mapping[str, str]) -> SinkWriter:
    sink, system = config.sink, config.system_name
    if isinstance(sink, SqlUpsertSink):
        from connectors.sinks.sql_upsert import SqlUpsertWriter

        return SqlUpsertWriter(sink.resolve_url(env).get_secret_value(), sink.table, system)
    if isinstance(sink, HttpPushSink):
        from connectors.sinks.http_push import HttpPushWriter

        token = require_env(env, sink.token_env).get_secret_value() if sink.token_env else None
        return HttpPushWriter(sink.url, system, token=token, timeout=sink.timeout_seconds)
    if isinstance(sink, FileExportSink):
        from connectors.sinks.file_export import FileExportWriter

        return FileExportWriter(sink.directory, str(config.recipient), system, sink.format)
    if isinstance(sink, DummySink):
        from connectors.sinks.dummy import DummyWriter

        return DummyWriter(sink.path, system)
    raise ConnectorConfigError(f"unknown sink type {type(sink).__name__}")


def run(
    config: ConnectorConfig,
    env: Mapping[str, str],
    *,
    stop: threading.Event | None = None,
    install_signals: bool = True,
) -> int:
    """Run until SIGTERM/SIGINT (or ``stop``); 0 after a clean stop."""
    stop = stop or threading.Event()
    previous: dict[int, Any] = {}
    if install_signals and threading.current_thread() is threading.main_thread():

        def request_stop(signum: int, _frame: FrameType | None) -> None:
            log.info("%s: signal %d, stopping after the current batch", config.name, signum)
            stop.set()

        previous = {s: signal.signal(s, request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    metrics = ConnectorMetrics(config.name)
    health: HealthServer | None = None
    connector = build(config, env, metrics=metrics)
    try:
        if config.health.port is not None:
            health = HealthServer(metrics, config.health.host, config.health.port).start()
        metrics.state = "running"
        # Asked to stop while waiting to retry: nothing half-done was committed.
        with contextlib.suppress(Stopped):
            connector.run(stop)
        return 0
    finally:
        metrics.state = "stopped"
        connector.close()
        if health is not None:
            health.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass
class CheckReport:
    """What ``hub connector check`` found: problems stop a deployment, notes do not."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows_ok: int = 0
    rows_rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(
    config: ConnectorConfig, env: Mapping[str, str], *, sample: Path | None = None
) -> CheckReport:
    report = CheckReport()
    try:
        catalogue = load_catalogue(config.schemas_dir())
    except Exception as exc:  # the report names whatever is wrong
        report.problems.append(f"catalogue: {exc}")
        return report
    for what, fn in (
        ("hub.bootstrap_servers", config.bootstrap),
        ("hub.schema_registry_url", config.registry_url),
    ):
        try:
            fn(env)
        except ConnectorConfigError as exc:
            report.notes.append(f"{what}: {exc} (needed to run, not to check)")
    secrets: list[str] = []
    if config.signing is not None and config.signing.private_key_env:
        secrets.append(config.signing.private_key_env)
    source, sink = config.source, config.sink
    if isinstance(source, WebhookSource):
        secrets.append(source.digest_key_env)
        secrets += [
            p.signing.private_key_env for p in source.partners.values() if p.signing.private_key_env
        ]
    if isinstance(source, SqlPollerSource) and source.url_env:
        secrets.append(source.url_env)
    if isinstance(sink, SqlUpsertSink) and sink.url_env:
        secrets.append(sink.url_env)
    if isinstance(sink, HttpPushSink) and sink.token_env:
        secrets.append(sink.token_env)
    for name in secrets:
        if not env.get(name):
            report.problems.append(f"environment variable {name} is not set")
    if (
        config.signing is not None
        and config.signing.private_key_env
        and env.get(config.signing.private_key_env)
    ):
        try:
            resolve_signer(config.signing, env)
        except ConnectorConfigError as exc:
            report.problems.append(str(exc))

    def mapper_for(slug: str, mapping: Any) -> Mapper | None:
        et = catalogue.get(slug)
        if et is None:
            report.problems.append(f"unknown event type '{slug}'")
            return None
        if mapping is None:
            return None
        try:
            return Mapper(et, str(config.partner), mapping)
        except ConnectorConfigError as exc:
            report.problems.append(str(exc))
            return None

    if isinstance(source, DropFolderSource):
        mappers = {i: mapper_for(r.event_type, r.mapping) for i, r in enumerate(source.files)}
        if sample is not None and report.ok:
            _check_sample(report, source, mappers, sample, catalogue, str(config.partner))
    elif isinstance(source, SqlPollerSource):
        mapper_for(source.event_type, source.mapping)
    elif isinstance(source, WebhookSource):
        for p in source.partners.values():
            for slug in p.event_types:
                mapper_for(slug, None)
    elif isinstance(source, DummySource):
        mapper_for(source.event_type, None)
    return report


def _check_sample(
    report: CheckReport,
    source: DropFolderSource,
    mappers: dict[int, Mapper | None],
    sample: Path,
    catalogue: Catalogue,
    partner: str,
) -> None:
    import fnmatch

    from connectors.sources.drop_folder import read_rows

    matches = [i for i, r in enumerate(source.files) if fnmatch.fnmatch(sample.name, r.pattern)]
    if not matches:
        report.problems.append(f"{sample.name} matches no route pattern")
        return
    route, mapper = source.files[matches[0]], mappers[matches[0]]
    try:
        rows, warnings = read_rows(sample.read_bytes(), route, mapper)
    except RecordRejected as exc:
        report.problems.append(f"{sample.name}: {exc.code}: {exc}")
        return
    report.notes += warnings
    et = catalogue.get(route.event_type)
    assert et is not None
    for row_no, line, _cells, record in rows:
        try:
            if isinstance(record, RecordRejected):
                raise record
            if mapper is not None:
                mapper.map(record)
            else:
                coerce_event(et, record, partner)
            report.rows_ok += 1
        except RecordRejected as exc:
            report.rows_rejected.append(
                {"row": row_no, "line": line, "code": exc.code, "reason": str(exc)}
            )

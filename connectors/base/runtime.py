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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from connectors.base.config import ConnectorConfig, DropFolderSourceConfig
from connectors.base.errors import ConnectorConfigError, RecordRejected
from connectors.base.health import ConnectorMetrics, HealthServer
from connectors.base.mapping import Mapper, MappingConfig, coerce_event
from connectors.base.plugins import BuildContext, Connector, sink_factory, source_factory
from connectors.base.rejects import RejectLog
from connectors.base.retry import Stopped
from connectors.base.sink import Housekeeping, SinkRunner, SinkWriter
from connectors.base.source import resolve_signer
from hub.catalogue.schemas import Catalogue, load_catalogue

log = logging.getLogger(__name__)


def build(
    config: ConnectorConfig,
    env: Mapping[str, str],
    *,
    catalogue: Catalogue | None = None,
    metrics: ConnectorMetrics | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Connector:
    """The connector a configuration describes, ready to ``run``: the factory registered
    for its ``kind`` (connectors/base/plugins.py) builds it. ``clock`` times a sink's
    retention (tests move it on by years)."""
    metrics = metrics or ConnectorMetrics(config.name)
    bootstrap, registry_url = config.bootstrap(env), config.registry_url(env)
    rejects = RejectLog(config.state_dir / "rejects", config.name)
    if config.sink is not None:
        writer = build_writer(config, env)
        return SinkRunner(
            name=config.name,
            recipient=str(config.recipient),
            writer=writer,
            bootstrap=bootstrap,
            registry_url=registry_url,
            rejects=rejects,
            retry_policy=config.retry,
            metrics=metrics,
            batch_size=config.batch_size,
            housekeeping=build_retention(config, writer, clock),
        )
    assert config.source is not None  # exactly one of source or sink: checked by the model
    context = BuildContext(
        config=config,
        env=env,
        catalogue=catalogue or load_catalogue(config.schemas_dir()),
        metrics=metrics,
        rejects=rejects,
        bootstrap=bootstrap,
        registry_url=registry_url,
    )
    return source_factory(config.source.kind)(config.source, context)


def build_writer(config: ConnectorConfig, env: Mapping[str, str]) -> SinkWriter:
    assert config.sink is not None
    return sink_factory(config.sink.kind)(config.sink, config, env)


def build_retention(
    config: ConnectorConfig, writer: SinkWriter, clock: Callable[[], datetime]
) -> Housekeeping | None:
    """The sink's retention on a timer, if its writer can erase what it delivered (SQL
    upsert, file export, HTTP push: connectors/sinks/retention.py)."""
    settings = config.retention
    make = getattr(writer, "retention_enforcer", None)
    if not settings.enabled:
        return None
    if make is None:
        log.warning(
            "%s: a %s sink cannot delete what it delivered: the recipient system must "
            "enforce the agreements' retention",
            config.name,
            config.sink.kind if config.sink else "",
        )
        return None
    from connectors.sinks.retention import RetentionTimer, parse_period, periods_for

    recipient = str(config.recipient)
    try:
        if settings.periods:
            periods = {a: parse_period(p) for a, p in settings.periods.items()}
        else:
            from hub.agreements.loader import load_agreements
            from hub.config import project_root

            folder = settings.agreements_dir or project_root() / "partnership" / "agreements"
            periods = periods_for(load_agreements(folder), recipient)
    except Exception as exc:  # a bad period or agreement folder: named, the sink not started
        raise ConnectorConfigError(f"{config.name}: retention: {exc}") from exc
    if not periods:
        log.warning(
            "%s: no agreement shares with %s: no retention to enforce", config.name, recipient
        )
    enforcer = make(recipient, periods, clock=clock)
    return RetentionTimer(enforcer, timedelta(seconds=settings.every_seconds), clock=clock)


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


SAMPLE_REJECTS_SHOWN = 1000  # rejected sample rows reported one by one (all are counted)


@dataclass
class CheckReport:
    """What ``hub connector check`` found: problems stop a deployment, notes do not."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows_ok: int = 0
    # The first SAMPLE_REJECTS_SHOWN rejected rows in detail; every one is counted.
    rows_rejected: list[dict[str, Any]] = field(default_factory=list)
    rows_rejected_count: int = 0

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
    _check_secrets(report, config, env)
    plugin = config.source or config.sink
    assert plugin is not None
    try:
        (source_factory if config.source else sink_factory)(plugin.kind)
    except ConnectorConfigError as exc:
        report.problems.append(str(exc))
    mappers = [
        _mapper(report, catalogue, str(config.partner), slug, mapping)
        for slug, mapping in plugin.event_routes()
    ]
    source = config.source
    if isinstance(source, DropFolderSourceConfig) and sample is not None and report.ok:
        by_route = dict(enumerate(mappers))
        _check_sample(report, source, by_route, sample, catalogue, str(config.partner))
    return report


def _check_secrets(report: CheckReport, config: ConnectorConfig, env: Mapping[str, str]) -> None:
    """Every environment variable the configuration names is set, and a signing key in one
    is a usable Ed25519 key."""
    secrets: list[str] = []
    signing = config.signing
    if signing is not None and signing.private_key_env:
        secrets.append(signing.private_key_env)
    for plugin in (config.source, config.sink):
        if plugin is not None:
            secrets += plugin.secret_envs()
    for name in secrets:
        if not env.get(name):
            report.problems.append(f"environment variable {name} is not set")
    if signing is not None and signing.private_key_env and env.get(signing.private_key_env):
        try:
            resolve_signer(signing, env)
        except ConnectorConfigError as exc:
            report.problems.append(str(exc))


def _mapper(
    report: CheckReport,
    catalogue: Catalogue,
    partner: str,
    slug: str,
    mapping: MappingConfig | None,
) -> Mapper | None:
    et = catalogue.get(slug)
    if et is None:
        report.problems.append(f"unknown event type '{slug}'")
        return None
    if mapping is None:
        return None
    try:
        return Mapper(et, partner, mapping)
    except ConnectorConfigError as exc:
        report.problems.append(str(exc))
        return None


def _check_sample(
    report: CheckReport,
    source: DropFolderSourceConfig,
    mappers: dict[int, Mapper | None],
    sample: Path,
    catalogue: Catalogue,
    partner: str,
) -> None:
    import fnmatch

    from connectors.sources.drop_folder import fingerprint, read_rows

    matches = [i for i, r in enumerate(source.files) if fnmatch.fnmatch(sample.name, r.pattern)]
    if not matches:
        report.problems.append(f"{sample.name} matches no route pattern")
        return
    route, mapper = source.files[matches[0]], mappers[matches[0]]
    et = catalogue.get(route.event_type)
    assert et is not None
    # Streamed as the drop folder reads it: a sample may be a whole export of millions of
    # rows, so neither the file nor every rejected row is held in memory.
    with sample.open("rb") as fh:
        _digest, problem = fingerprint(fh, route.encoding)
        if problem is not None:
            report.problems.append(f"{sample.name}: malformed: {problem}")
            return
        try:
            rows, warnings = read_rows(fh, route, mapper)
        except RecordRejected as exc:
            report.problems.append(f"{sample.name}: {exc.code}: {exc}")
            return
        report.notes += warnings
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
                report.rows_rejected_count += 1
                if len(report.rows_rejected) < SAMPLE_REJECTS_SHOWN:
                    report.rows_rejected.append(
                        {"row": row_no, "line": line, "code": exc.code, "reason": str(exc)}
                    )

"""The built-in sink kinds, registered by name (connectors/base/plugins.py).

Each factory builds the writer from its configuration; the runner around it (consume,
receipts, commits) is the same for every sink. Writer modules are imported by the factory
that needs them, so an HTTP sink never loads SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.base.config import (
    ConnectorConfig,
    DummySinkConfig,
    FileExportSinkConfig,
    HttpPushSinkConfig,
    SqlUpsertSinkConfig,
    require_env,
)
from connectors.base.plugins import register_sink
from connectors.base.sink import SinkWriter


@register_sink("sql-upsert")
def sql_upsert(
    sink: SqlUpsertSinkConfig, config: ConnectorConfig, env: Mapping[str, str]
) -> SinkWriter:
    from connectors.sinks.sql_upsert import SqlUpsertWriter

    url = sink.resolve_url(env).get_secret_value()
    return SqlUpsertWriter(url, sink.table, config.system_name, on_retraction=sink.on_retraction)


@register_sink("http-push")
def http_push(
    sink: HttpPushSinkConfig, config: ConnectorConfig, env: Mapping[str, str]
) -> SinkWriter:
    from connectors.sinks.http_push import HttpPushWriter

    token = require_env(env, sink.token_env).get_secret_value() if sink.token_env else None
    return HttpPushWriter(
        sink.url,
        config.system_name,
        token=token,
        timeout=sink.timeout_seconds,
        # What was pushed, so that retention can tell the recipient's system to delete it.
        ledger=config.state_dir / f"{config.name}-pushed.db",
    )


@register_sink("file-export")
def file_export(
    sink: FileExportSinkConfig, config: ConnectorConfig, _env: Mapping[str, str]
) -> SinkWriter:
    from connectors.sinks.file_export import FileExportWriter

    return FileExportWriter(
        sink.directory,
        str(config.recipient),
        config.system_name,
        sink.format,
        on_retraction=sink.on_retraction,
    )


@register_sink("dummy")
def dummy(sink: DummySinkConfig, config: ConnectorConfig, _env: Mapping[str, str]) -> SinkWriter:
    from connectors.sinks.dummy import DummyWriter

    return DummyWriter(sink.path, config.system_name)

"""A SQL table poller: publishes new and changed rows of a partner's table, by watermark.

Each poll reads rows strictly after the checkpoint ``(watermark, key)`` in that order (the
key breaks ties between rows sharing a watermark), maps them, publishes them signed, waits
for the broker's acknowledgement, and only then moves the checkpoint to the last row. A
crash replays at most one batch; replayed rows keep their event ids (derived from the key
columns in the mapping), so the hub and the sinks deduplicate them.

Works on any database SQLAlchemy reaches; tested on SQLite and PostgreSQL. The watermark
column must only grow for new or changed rows (an ``updated_at`` stamped by the database,
or a sequence). A row whose watermark is written by a transaction that commits later than
a newer one can be missed: prefer a database-assigned sequence, or poll a view that hides
rows younger than a few seconds.

A row that fails mapping goes to the reject output with the table and its key, and the
poller carries on with the next row.

Corrections and retractions (issue 18): a changed row is the same event (its id comes from
the key columns) and, with ``envelope.revision`` mapped to the case system's version column,
a correction. With ``deleted_column``, a row where that column is set is published as an
``event-retraction`` of its event instead (reason ``retraction_reason``, or per row from
``retraction_reason_column``); the row must still carry its key columns.
"""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime
from typing import Any

from sqlalchemy import MetaData, Table, and_, create_engine, or_, select
from sqlalchemy.exc import NoSuchTableError, OperationalError

from connectors.base.config import SqlPollerSourceConfig as SqlPollerConfig
from connectors.base.errors import ConnectorConfigError, RecordRejected, SourceUnavailable
from connectors.base.mapping import Mapper, coerce_event
from connectors.base.plugins import BuildContext, register_source
from connectors.base.retraction import RETRACTION, retraction_of
from connectors.base.retry import retry
from connectors.base.source import SourceContext

log = logging.getLogger(__name__)
_CHECKPOINT = "watermark"


def _encode(value: Any) -> dict[str, Any]:
    if isinstance(value, datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, int):
        return {"type": "int", "value": value}
    return {"type": "str", "value": str(value)}


def _decode(data: dict[str, Any]) -> Any:
    kind, value = data["type"], data["value"]
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    return value


class SqlPollerSource:
    def __init__(self, config: SqlPollerConfig, ctx: SourceContext, url: str) -> None:
        self.name = ctx.name
        self.config = config
        self.ctx = ctx
        self.mapper = Mapper(ctx.event_type(config.event_type), ctx.partner, config.mapping)
        self.engine = create_engine(url, pool_pre_ping=True)
        self._table: Table | None = None

    @property
    def table(self) -> Table:
        if self._table is None:
            try:
                table = Table(self.config.table, MetaData(), autoload_with=self.engine)
            except NoSuchTableError:
                raise ConnectorConfigError(f"table '{self.config.table}' does not exist") from None
            except OperationalError as exc:
                raise SourceUnavailable(f"database unavailable: {_short(exc)}") from exc
            names = set(table.c.keys())
            wanted = self.mapper.columns() | {self.config.watermark_column, self.config.key_column}
            wanted |= {
                c for c in (self.config.deleted_column, self.config.retraction_reason_column) if c
            }
            missing = sorted(wanted - names)
            if missing:
                raise ConnectorConfigError(
                    f"table '{self.config.table}' has no column(s) {', '.join(missing)}"
                )
            self._table = table
        return self._table

    def watermark(self) -> tuple[Any, Any] | None:
        saved = self.ctx.checkpoints.get(_CHECKPOINT)
        return (_decode(saved["watermark"]), _decode(saved["key"])) if saved else None

    def _fetch(self) -> list[dict[str, Any]]:
        table = self.table
        wm_col, key_col = table.c[self.config.watermark_column], table.c[self.config.key_column]
        query = select(table).order_by(wm_col, key_col).limit(self.config.batch_rows)
        mark = self.watermark()
        if mark is not None:
            query = query.where(or_(wm_col > mark[0], and_(wm_col == mark[0], key_col > mark[1])))
        try:
            with self.engine.connect() as conn:
                return [dict(r) for r in conn.execute(query).mappings()]
        except OperationalError as exc:
            raise SourceUnavailable(f"database unavailable: {_short(exc)}") from exc

    def poll(self, stop: threading.Event | None = None) -> int:
        """Publish one batch; returns how many rows it read."""
        rows = retry(
            self._fetch,
            self.ctx.retry_policy,
            stop=stop,
            what=f"{self.name}: reading {self.config.table}",
        )
        if not rows:
            return 0
        for row in rows:
            self.ctx.read()
            key = row[self.config.key_column]
            try:
                if self._deleted(row):
                    self.ctx.publish(RETRACTION, self._retraction(row))
                else:
                    self.ctx.publish(self.config.event_type, self.mapper.map(row))
            except RecordRejected as exc:
                where = {"table": self.config.table, "key": str(key), "field": exc.field}
                self.ctx.reject(where, exc)
        self.ctx.flush(stop)
        last = rows[-1]
        self.ctx.checkpoints.set(
            _CHECKPOINT,
            {
                "watermark": _encode(last[self.config.watermark_column]),
                "key": _encode(last[self.config.key_column]),
            },
        )
        return len(rows)

    def _deleted(self, row: dict[str, Any]) -> bool:
        column = self.config.deleted_column
        return column is not None and row.get(column) not in (None, False, 0, "", "0")

    def _retraction(self, row: dict[str, Any]) -> dict[str, Any]:
        reason_column = self.config.retraction_reason_column
        reason = row.get(reason_column) if reason_column else self.config.retraction_reason
        data = retraction_of(self.ctx.partner, self.mapper.event_id(row), reason)
        return coerce_event(self.ctx.event_type(RETRACTION), data, self.ctx.partner)

    def run(self, stop: threading.Event) -> None:
        self.ctx.metrics.state = "running"
        while not stop.is_set():
            n = self.poll(stop)
            self.ctx.metrics.progress()
            if n < self.config.batch_rows:
                stop.wait(self.config.poll_seconds)

    def close(self) -> None:
        self.engine.dispose()
        self.ctx.close()


def _short(exc: OperationalError) -> str:
    return str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__


@register_source("sql-poller")
def _build(config: SqlPollerConfig, build: BuildContext) -> SqlPollerSource:
    url = config.resolve_url(build.env).get_secret_value()
    return SqlPollerSource(config, build.partner_context(), url)

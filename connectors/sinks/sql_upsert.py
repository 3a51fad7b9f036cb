"""SQL upsert into a recipient's database (SQLite or PostgreSQL, through SQLAlchemy).

Three table shapes stand for the recipient systems of the reference partnership:

* ``mash_referrals`` - a MASH referral queue: one row per disclosure, with the subject, the
  borough, category and risk for triage, and a ``triage_status`` the MASH team updates;
* ``iom_nominals`` - the IOM nominal register: cohort changes and probation updates about
  cohort nominals (name, PNC id, cohort, change or update, risk of harm);
* ``msn_cases`` - the Modern Slavery Network case list: pseudonymised (token, age band),
  referral kind and exploitation types.

Every table is keyed by the disclosure id and written with ``INSERT ... ON CONFLICT DO
NOTHING``, so a redelivered disclosure changes nothing and its receipt reports the time
it was first delivered. The full record is kept as JSON next to the summary columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError

from connectors.base.errors import DeliveryFailed
from connectors.base.sink import Delivery, Outcome, write_each
from connectors.sinks.records import summary, to_json
from hub.errors import SinkUnavailable

_COMMON = (
    ("event_id", String(64)),
    ("event_type", String(64)),
    ("agreement", String(128)),
    ("source_topic", String(255)),
)
_SUMMARY = {
    "mash_referrals": (
        "person_name",
        "date_of_birth",
        "borough",
        "category",
        "risk",
        "subject_kind",
    ),
    "iom_nominals": (
        "person_name",
        "pnc_id",
        "date_of_birth",
        "borough",
        "cohort",
        "category",
        "risk",
    ),
    "msn_cases": ("person_token", "age_band", "subject_kind", "borough", "category"),
}


def table_for(name: str, metadata: MetaData) -> Table:
    columns: list[Column[Any]] = [
        Column("disclosure_id", String(128), primary_key=True),
        *(Column(n, t, nullable=False) for n, t in _COMMON),
        Column("source_partition", Integer, nullable=False),
        Column("source_offset", Integer, nullable=False),
        Column("delivered_at", DateTime(timezone=True), nullable=False),
        *(Column(n, String(255)) for n in _SUMMARY[name]),
        Column("record", Text, nullable=False),
    ]
    if name == "mash_referrals":
        columns.append(Column("triage_status", String(32), nullable=False, server_default="NEW"))
    return Table(name, metadata, *columns)


class SqlUpsertWriter:
    def __init__(self, url: str, table: str, system: str) -> None:
        self.system = system
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        self.table = table_for(table, MetaData())
        try:
            self.table.create(self.engine, checkfirst=True)
        except OperationalError as exc:
            raise SinkUnavailable(f"{system}: database unavailable: {_short(exc)}") from exc

    def _row(self, d: Delivery, at: datetime) -> dict[str, Any]:
        facts = summary(d.record)
        row: dict[str, Any] = {
            "disclosure_id": d.disclosure_id,
            "event_id": d.event_id,
            "event_type": d.event_type,
            "agreement": d.agreement,
            "source_topic": d.topic,
            "source_partition": d.partition,
            "source_offset": d.offset,
            "delivered_at": at,
            "record": to_json(d.record),
        }
        for name in _SUMMARY[self.table.name]:
            value = facts.get(name)
            row[name] = value[:255] if value else value
        return row

    def _insert(self, rows: list[dict[str, Any]]) -> Any:
        dialect = self.engine.dialect.name
        module: Any = postgresql if dialect == "postgresql" else sqlite
        return (
            module.insert(self.table)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["disclosure_id"])
        )

    def _delivered_at(self, conn: Any, ids: list[str]) -> dict[str, datetime]:
        c = self.table.c
        result = conn.execute(
            select(c.disclosure_id, c.delivered_at).where(c.disclosure_id.in_(ids))
        )
        return {str(r[0]): r[1] for r in result}

    def write(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        now = datetime.now(UTC)
        rows = [self._row(d, now) for d in deliveries]
        try:
            with self.engine.begin() as conn:
                conn.execute(self._insert(rows))
                firsts = self._delivered_at(conn, [d.disclosure_id for d in deliveries])
        except OperationalError as exc:
            raise SinkUnavailable(f"{self.system}: database unavailable: {_short(exc)}") from exc
        except DBAPIError:
            # One row the database refuses must not fail the others: go row by row.
            return write_each(deliveries, self._write_one)
        return [
            Outcome(d.disclosure_id, "delivered", _iso(firsts.get(d.disclosure_id, now)))
            for d in deliveries
        ]

    def _write_one(self, d: Delivery) -> str:
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                conn.execute(self._insert([self._row(d, now)]))
                return _iso(self._delivered_at(conn, [d.disclosure_id]).get(d.disclosure_id, now))
        except OperationalError as exc:
            raise SinkUnavailable(f"{self.system}: database unavailable: {_short(exc)}") from exc
        except DBAPIError as exc:
            raise DeliveryFailed(f"{self.system} refused the row: {_short(exc)}") from exc

    def rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(self.table))]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(self.table)).scalar_one())

    def close(self) -> None:
        self.engine.dispose()


def _iso(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite returns naive datetimes: they were written as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _short(exc: DBAPIError) -> str:
    # The driver's message, without the SQL statement and its parameters (personal data).
    return str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__

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

Corrections and retractions (issue 18, connectors/sinks/revisions.py): rows of one
(provider, event id) are its revision history; ``state`` says which one the recipient holds
(``current``), which are ``superseded``, and, once a retraction notice outranks them all,
the notice's row is the ``tombstone`` (with ``retraction_reason``) and every row it withdraws
is ``erased`` (its record and summary columns emptied) or, with ``on_retraction="flag"``,
kept and marked ``retracted``.

Retention (issue 18, connectors/sinks/sql_retention.py): rows past their agreement's retention
are deleted, each leaving a marker in ``<table>_erased`` (no personal data). A disclosure
delivered again after its erasure (a replay, a consumer group reset, a redelivery after a
crash), or an older or equal revision of its event, is not stored: its outcome is
``erased``, at the erasure's time, the reason naming the run; a later revision is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, OperationalError

from connectors.base.errors import DeliveryFailed
from connectors.base.sink import Delivery, Outcome
from connectors.sinks.records import summary, to_json
from connectors.sinks.retention import Period, RetentionEnforcer
from connectors.sinks.revisions import DELETE, About, about, check_mode
from connectors.sinks.sql_retention import (
    Erased,
    SqlHolding,
    erased_before,
    erased_table,
    insert_new,
)
from hub.errors import SinkUnavailable

log = logging.getLogger(__name__)

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


# Issue 18: added to tables created before it (``_add_missing``), hence nullable.
_REVISION_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("provider", String(100)),
    ("revision", Integer()),
    ("state", String(16)),  # current | superseded | erased | retracted | tombstone | notice
    ("retraction_reason", String(64)),
)


def table_for(name: str, metadata: MetaData) -> Table:
    columns: list[Column[Any]] = [
        Column("disclosure_id", String(128), primary_key=True),
        *(Column(n, t, nullable=False) for n, t in _COMMON),
        Column("source_partition", Integer, nullable=False),
        Column("source_offset", Integer, nullable=False),
        Column("delivered_at", DateTime(timezone=True), nullable=False),
        *(Column(n, String(255)) for n in _SUMMARY[name]),
        Column("record", Text, nullable=False),
        *(Column(n, t) for n, t in _REVISION_COLUMNS),
    ]
    if name == "mash_referrals":
        columns.append(Column("triage_status", String(32), nullable=False, server_default="NEW"))
    # An event's rows (its revision history) are read at every delivery of it.
    return Table(name, metadata, *columns, Index(f"ix_{name}_event", "event_id", "provider"))


class SqlUpsertWriter:
    def __init__(
        self,
        url: str,
        table: str,
        system: str,
        *,
        on_retraction: str = DELETE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.system = system
        self._clock = clock  # when a row is delivered: its retention runs from then
        self.on_retraction = check_mode(on_retraction)
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        metadata = MetaData()
        self.table = table_for(table, metadata)
        # What the retention erased, kept for good (sql_retention.py): never stored again.
        self.erased = erased_table(table, metadata)
        try:
            self.table.create(self.engine, checkfirst=True)
            self.erased.create(self.engine, checkfirst=True)
            self._add_missing()
            for index in self.table.indexes:  # a table from before them lacks them
                index.create(self.engine, checkfirst=True)
        except OperationalError as exc:
            raise SinkUnavailable(f"{system}: database unavailable: {_short(exc)}") from exc

    def _add_missing(self) -> None:
        """Columns added since the table was created (a recipient database from before)."""
        have = {c["name"] for c in inspect(self.engine).get_columns(self.table.name)}
        with self.engine.begin() as conn:
            for name, kind in _REVISION_COLUMNS:
                if name not in have:
                    spelled = kind.compile(dialect=self.engine.dialect)
                    conn.execute(
                        text(f'ALTER TABLE {self.table.name} ADD COLUMN "{name}" {spelled}')
                    )

    def _row(self, d: Delivery, at: datetime) -> dict[str, Any]:
        what = about(d)
        facts = {} if what.notice else summary(d.record)
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
            "provider": what.provider,
            "revision": what.revision,
            "state": "notice" if what.notice else "current",
            "retraction_reason": what.reason_code,
        }
        if what.notice:
            row["event_id"] = what.event_id
            row["event_type"] = str(d.record.get("event_type", d.event_type))
        for name in _SUMMARY[self.table.name]:
            value = facts.get(name)
            row[name] = value[:255] if value else value
        return row

    def _insert(self, conn: Any, rows: list[dict[str, Any]]) -> None:
        # One statement executed for many rows: compiled once and cached, where a
        # multi-row VALUES is compiled again for each batch (~0.3 s per 500 rows).
        conn.execute(insert_new(self.table, self.engine.dialect.name), rows)

    def _delivered_at(self, conn: Any, ids: list[str]) -> dict[str, datetime]:
        c = self.table.c
        result = conn.execute(
            select(c.disclosure_id, c.delivered_at).where(c.disclosure_id.in_(ids))
        )
        return {str(r[0]): r[1] for r in result}

    def write(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        try:
            return self._store(deliveries)
        except DBAPIError:
            # One row the database refuses must not fail the others: go row by row.
            return [o for d in deliveries for o in self._store_one(d)]

    def _store_one(self, d: Delivery) -> list[Outcome]:
        try:
            return self._store([d])
        except DBAPIError as exc:
            failed = DeliveryFailed(f"{self.system} refused the row: {_short(exc)}")
            return [Outcome(d.disclosure_id, "failed", _iso(datetime.now(UTC)), str(failed))]

    def _store(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """Stores what is new and not erased, in one transaction; a redelivery of a stored
        disclosure reports its first delivery, one erased at retention its erasure."""
        now = self._clock()
        try:
            with self.engine.begin() as conn:
                ids = [d.disclosure_id for d in deliveries]
                held = self._delivered_at(conn, ids)
                new = [d for d in deliveries if d.disclosure_id not in held]
                gone = self._erased(conn, new)
                new = [d for d in new if d.disclosure_id not in gone]
                if new:
                    self._insert(conn, [self._row(d, now) for d in new])
                    # An erasure committed since the check above (another process on this
                    # table): what it forbids is taken out again before this commits.
                    late = self._erased(conn, new)
                    if late:
                        c = self.table.c
                        conn.execute(delete(self.table).where(c.disclosure_id.in_(list(late))))
                        gone |= late
                self._settle(conn, {about(d) for d in deliveries if d.disclosure_id not in gone})
                firsts = self._delivered_at(conn, ids)
        except OperationalError as exc:
            raise SinkUnavailable(f"{self.system}: database unavailable: {_short(exc)}") from exc
        return [
            self._not_stored(d, gone[d.disclosure_id])
            if d.disclosure_id in gone
            else Outcome(d.disclosure_id, "delivered", _iso(firsts.get(d.disclosure_id, now)))
            for d in deliveries
        ]

    def _erased(self, conn: Any, deliveries: Sequence[Delivery]) -> dict[str, Erased]:
        """Which of these the retention erased (or a later revision of their event): never
        stored again. Notices are always stored: they carry no personal data."""
        asked = [(d.disclosure_id, about(d)) for d in deliveries]
        return erased_before(conn, self.erased, [(d, a) for d, a in asked if not a.notice])

    def _not_stored(self, d: Delivery, erased: Erased) -> Outcome:
        log.warning(
            "%s: disclosure %s to %s not stored: erased at the end of its retention "
            "(erasure run %s, disclosure %s); a redelivery (replay, group reset or restart) "
            "brought it back",
            self.system,
            d.disclosure_id,
            d.recipient,
            erased.run_id,
            erased.disclosure_id,
        )
        reason = erased.reason(d.disclosure_id, about(d).revision)
        return Outcome(d.disclosure_id, "erased", _iso(erased.erased_at), reason)

    def _settle(self, conn: Any, events: set[About]) -> None:
        """Which row of each event the recipient holds, by rank (revisions.py): the top one
        is current (or, a notice, the tombstone); below a tombstone the personal data go."""
        keys = {e.key for e in events if e.event_id}
        if not keys:
            return
        c = self.table.c
        # One query for the batch's events (not one per event: a batch has hundreds).
        cols = (c.disclosure_id, c.revision, c.state, c.provider, c.event_id)
        found = conn.execute(select(*cols).where(c.event_id.in_(sorted({k[1] for k in keys}))))
        by_event: dict[tuple[str, str], list[Any]] = {}
        for r in found:
            if (r.provider, r.event_id) in keys:
                by_event.setdefault((r.provider, r.event_id), []).append(r)
        for rows in by_event.values():
            self._settle_event(conn, sorted(rows, key=_rank))

    def _settle_event(self, conn: Any, ranked: list[Any]) -> None:
        top = ranked[-1]
        notices = [_rank(r) for r in ranked if r.state in ("notice", "tombstone")]
        withdrawn_below = max(notices) if notices else (0, 0)
        for r in ranked:
            notice = r.state in ("notice", "tombstone")
            if r is top:
                state = "tombstone" if notice else "current"
            elif notice:
                state = "notice"
            elif _rank(r) < withdrawn_below:
                # A notice withdrew it (also when it arrived after the notice): the
                # personal data go, whatever was shared since.
                state = "erased" if self.on_retraction == DELETE else "retracted"
            else:
                state = "superseded"
            if state != r.state:
                self._set_state(conn, r.disclosure_id, state)

    def _set_state(self, conn: Any, disclosure_id: str, state: str) -> None:
        c = self.table.c
        values: dict[str, Any] = {"state": state}
        if state == "erased":  # the personal data go; the references and the reason stay
            values["record"] = "{}"
            values.update(dict.fromkeys(_SUMMARY[self.table.name]))
        conn.execute(update(self.table).where(c.disclosure_id == disclosure_id).values(values))

    def retention_enforcer(
        self, recipient: str, periods: Mapping[str, Period], *, clock: Callable[[], datetime]
    ) -> RetentionEnforcer:
        """What deletes this table's rows past retention (the sink runner runs it on a timer)."""
        return RetentionEnforcer(SqlHolding(self), recipient, periods, clock=clock)

    def held(self) -> dict[tuple[str, str], dict[str, Any]]:
        """What the recipient holds of each event: its current row or its tombstone."""
        c = self.table.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(self.table).where(or_(c.state == "current", c.state == "tombstone"))
            )
            return {(r.provider, r.event_id): dict(r._mapping) for r in rows}

    def rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(self.table))]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(self.table)).scalar_one())

    def close(self) -> None:
        self.engine.dispose()


def _rank(row: Any) -> tuple[int, int]:
    return (row.revision or 1, 1 if row.state in ("notice", "tombstone") else 0)


def _iso(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite returns naive datetimes: they were written as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _short(exc: DBAPIError) -> str:
    # The driver's message, without the SQL statement and its parameters (personal data).
    return str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__

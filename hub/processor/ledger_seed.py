"""Rebuild the events ledger from the audit store when its topic came back empty.

Why: the ledger (hub/processor/ledger.py) lives on ``hub.events.v1``. On Apache Kafka that
topic persists; on the embedded broker with memory storage (``hub demo``, ``hub sandbox``)
it restarts empty while the audit store keeps every decision. An empty ledger forgets who
received what: a partner's correction of an event decided before the restart would reach
no recipient that must now be told it may no longer hold it (UK GDPR Art 19), and a
reused event id with other content would be shared as new.

What: every decision, correction notice and retraction notice of a (provider, event id) is
in the audit, with the content digest and revision it was about. ``entry_from_rows`` replays
them through the processor's own rules (hub/processor/corrections.py: ``revision_step``,
``next_entry``, ``retraction_step``, ``retracted_entry``), revision by revision, so the
entry is the one the processor built (tests/processor/test_ledger_seed.py compares them).
What the audit cannot tell, and is therefore not rebuilt:

- an event no agreement names at all has no audit row: its id is not remembered (it
  reached nobody, so no correction is owed; a reuse of its id is not refused);
- a retraction of an event that had reached nobody sends no notice, so leaves no row: the
  event's later revisions are decided again instead of refused as ``event-retracted``;
- rows stored before content digests (migration 0004) name no content: skipped, counted.

When (``rebuild_from_audit``, setting ``HUB_LEDGER_REBUILD``): ``auto`` when the topic gave
no entry at all and the store holds decisions; ``always`` at every start (entries already
on the topic are never produced again, only missing keys are filled: for a seed that was
interrupted, or a topic an operator deleted); ``off`` never. The audit is read in one
ordered, streamed query (``yield_per``: a server-side cursor on PostgreSQL), one event's
rows at a time, so memory stays flat over millions of decisions.

Two instances starting at once both rebuild, and produce the same entries (the same rows
give the same entry). Each loader merges by rank (ledger_store.py: the later state wins,
equal ranks keep the first), so duplicates change nothing. Before each chunk is produced
the instance takes the topic's tail and leaves out every key another instance has written
since, so a seed does not put an older state after a newer decision: what is left is a
window of one chunk and the tail's latency (below a second), within which a seeded entry
could follow a newer one. Every loader would still pick the newer one by rank; only Apache
Kafka's compaction, which keeps the last record by offset, could later drop it. On Kafka
the topic is empty only on a first deployment or after an operator deleted it: start one
instance first then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from sqlalchemy import Engine, create_engine, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from hub.audit.sqlite import shared_sqlite
from hub.audit.tables import decisions
from hub.catalogue.topics import EVENTS_TOPIC
from hub.errors import EventIdReused, HubError, InputRejected
from hub.processor import corrections
from hub.processor.ledger import EventLedger, LedgerEntry

log = logging.getLogger("hub.processor.ledger")

RebuildMode = Literal["auto", "always", "off"]
# Audit rows fetched at once, and entries produced (and acknowledged) at once.
FETCH = 2_000
CHUNK = 2_000
_SHARED, _RETRACTED = "shared", "retracted"
_COLUMNS = (
    "provider",
    "event_id",
    "event_type",
    "recipient",
    "outcome",
    "reason",
    "disclosure_id",
    "decided_at",
    "source_topic",
    "source_partition",
    "source_offset",
    "content_digest",
    "revision",
)


class Unrebuildable(HubError, ValueError):
    """One event's audit rows do not make a ledger entry (an old row with no digest, rows
    the processor's rules would have refused): the event is left out, and counted."""


def _retraction_of(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """(retraction id, reason code) of a retraction notice, else None. The notice's reason
    ends "retracted by <provider> (<code>), retraction <id>" (processor ``_retract``); the
    id read from it is trusted only when it gives back the notice's own disclosure id."""
    reason, disclosure = str(row["reason"] or ""), row["disclosure_id"]
    head, sep, rid = reason.rpartition("), retraction ")
    if not sep or not rid or "(" not in head:
        return None
    _p, notice = corrections.notice_ids(row["provider"], row["event_id"], rid, row["recipient"])
    if notice != disclosure:
        return None
    return rid, head.rpartition("(")[2]


def _order(row: Mapping[str, Any]) -> tuple[Any, ...]:
    # The order the processor wrote them in: decisions before the notices of a revision.
    return (row["revision"] or 1, row["decided_at"], row["outcome"] == _RETRACTED)


def _revision(
    state: LedgerEntry | None, rows: Sequence[Mapping[str, Any]], revision: int
) -> LedgerEntry:
    """The entry once ``revision`` was decided, as the processor's ``_revise`` built it."""
    first = rows[0]
    provider, event_id = first["provider"], first["event_id"]
    digest = next((r["content_digest"] for r in rows if r["content_digest"]), None)
    if digest is None:
        raise Unrebuildable(f"revision {revision} has no content digest (stored before 0004)")
    step = corrections.revision_step(state, provider, event_id, revision, digest)
    reached = dict(step.reached)
    for row in rows:
        if row["outcome"] == _SHARED and row["disclosure_id"]:
            reached[row["recipient"]] = corrections.reach(row["disclosure_id"], revision, True)
        elif row["outcome"] == _RETRACTED:
            disclosure = row["disclosure_id"] or ""
            reached[row["recipient"]] = corrections.reach(disclosure, revision, False)
    return corrections.next_entry(
        step,
        provider=provider,
        event_id=event_id,
        event_type=first["event_type"],
        revision=revision,
        digest=digest,
        source=f"{first['source_topic']}:{first['source_partition']}:{first['source_offset']}",
        at=first["decided_at"],
        reached=reached,
    )


def _retracted(
    state: LedgerEntry, rows: Sequence[tuple[Mapping[str, Any], str, str]]
) -> LedgerEntry:
    """The entry once retracted, as the processor's ``_retract`` built it."""
    first, rid, code = rows[0]
    step = corrections.retraction_step(state, state.provider, state.event_id, rid)
    reached = dict(step.reached)
    for row, _rid, _code in rows:
        revision = row["revision"] or state.revision or 1
        reached[row["recipient"]] = corrections.reach(row["disclosure_id"] or "", revision, False)
    return corrections.retracted_entry(
        step,
        provider=state.provider,
        event_id=state.event_id,
        retraction={"id": rid, "reason": code, "at": first["decided_at"]},
        reached=reached,
        source=f"{first['source_topic']}:{first['source_partition']}:{first['source_offset']}",
        at=first["decided_at"],
    )


def entry_from_rows(rows: Iterable[Mapping[str, Any]]) -> LedgerEntry:
    """One event's ledger entry from all its audit decision rows (any order): each revision
    in turn, then its retraction. Raises Unrebuildable when the rows do not make one."""
    by_revision: dict[int, list[Mapping[str, Any]]] = {}
    withdrawn: list[tuple[Mapping[str, Any], str, str]] = []
    for row in sorted(rows, key=_order):
        retraction = _retraction_of(row) if row["outcome"] == _RETRACTED else None
        if retraction is not None:
            withdrawn.append((row, *retraction))
        else:
            by_revision.setdefault(row["revision"] or 1, []).append(row)
    if not by_revision:
        raise Unrebuildable("retraction notices and no decision of the event")
    state: LedgerEntry | None = None
    try:
        for revision in sorted(by_revision):
            state = _revision(state, by_revision[revision], revision)
        assert state is not None
        if withdrawn:
            if len({rid for _r, rid, _c in withdrawn}) > 1:
                raise Unrebuildable("notices of two retractions")
            state = _retracted(state, withdrawn)
    except (InputRejected, EventIdReused) as exc:  # rows the processor would have refused
        raise Unrebuildable(str(exc)) from exc
    return state


@dataclass
class Rebuilt:
    """What a rebuild did (the log line says the same)."""

    rows: int = 0  # audit decision rows read
    entries: int = 0  # entries produced to the topic and kept
    present: int = 0  # events already in the ledger: left as they are
    skipped: int = 0  # events whose rows made no entry (Unrebuildable)


def entries_from_audit(rows: Iterable[Mapping[str, Any]], tally: Rebuilt) -> Iterator[LedgerEntry]:
    """Entries from rows ordered by (provider, event id), one event's rows held at a time."""
    group: list[Mapping[str, Any]] = []
    key: tuple[str, str] | None = None
    for row in rows:
        tally.rows += 1
        this = (row["provider"], row["event_id"])
        if this != key and group:
            yield from _one(group, tally)
            group = []
        key = this
        group.append(row)
    if group:
        yield from _one(group, tally)


def _one(group: list[Mapping[str, Any]], tally: Rebuilt) -> Iterator[LedgerEntry]:
    try:
        yield entry_from_rows(group)
    except Unrebuildable as exc:
        tally.skipped += 1
        first = group[0]
        log.debug("events ledger: %s|%s not rebuilt: %s", first["provider"], first["event_id"], exc)


def audit_rows(engine: Engine, fetch: int = FETCH) -> Iterator[Mapping[str, Any]]:
    """Every decision row, ordered by (provider, event id) along the store's index on the
    two (no sort of the whole table), streamed ``fetch`` rows at a time."""
    cols = [decisions.c[name] for name in _COLUMNS]
    stmt = select(*cols).order_by(decisions.c.provider, decisions.c.event_id)
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=fetch).execute(stmt):
            yield cast("Mapping[str, Any]", row._mapping)  # keyed by column name


Send = Callable[[Sequence[LedgerEntry]], None]


def seed(ledger: EventLedger, entries: Iterable[LedgerEntry], send: Send, tally: Rebuilt) -> None:
    """Entries missing from ``ledger``, sent (``send`` returns once the broker acknowledged
    them) and then kept, a chunk at a time: the store never runs ahead of the topic."""
    chunk: list[LedgerEntry] = []
    for entry in entries:
        chunk.append(entry)
        if len(chunk) >= CHUNK:
            _seed_chunk(ledger, chunk, send, tally)
            chunk = []
    _seed_chunk(ledger, chunk, send, tally)


def _seed_chunk(ledger: EventLedger, chunk: list[LedgerEntry], send: Send, tally: Rebuilt) -> None:
    ledger.refresh()  # what another instance wrote meanwhile is left as it is
    fresh = [e for e in chunk if ledger.entry(e.provider, e.event_id) is None]
    tally.present += len(chunk) - len(fresh)
    if not fresh:
        return
    send(fresh)
    ledger.begin()
    for entry in fresh:
        ledger.put(entry)
    ledger.commit()
    tally.entries += len(fresh)


def _open(url: str) -> Engine | None:
    """The audit store's engine, or None when it holds no decision table (nothing to do).
    Never creates the store: a SQLite file that is not there is not made."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or not Path(parsed.database).exists():
            return None
        engine = shared_sqlite(create_engine(url))
    else:  # a server that does not answer is given up on at start, not waited for
        engine = create_engine(url, connect_args={"connect_timeout": 10})
    if not inspect(engine).has_table(decisions.name):
        engine.dispose()
        return None
    return engine


def rebuild_from_audit(
    ledger: EventLedger,
    send: Send,
    audit_url: str | None,
    mode: RebuildMode = "auto",
) -> Rebuilt | None:
    """Fill the ledger (and its topic, through ``send``) from the audit store when the topic
    gave nothing (``auto``) or at every start (``always``); None when not run. An audit
    store that cannot be read is logged and the processor starts without."""
    if mode == "off" or not audit_url or (mode == "auto" and len(ledger) > 0):
        return None
    where = make_url(audit_url).render_as_string(hide_password=True)
    started = time.monotonic()
    tally = Rebuilt()
    try:
        engine = _open(audit_url)
        if engine is None:
            return None
        try:
            seed(ledger, entries_from_audit(audit_rows(engine), tally), send, tally)
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        log.warning(
            "events ledger: %s held no entry and the audit store %s could not be read (%s); "
            "started WITHOUT a rebuild (%d entries rebuilt before the failure): corrections "
            "of events decided before reach no earlier recipient until it is rebuilt "
            "(restart with the store reachable)",
            EVENTS_TOPIC,
            where,
            type(exc).__name__,
            tally.entries,
        )
        return tally
    if tally.rows:
        log.warning(
            "events ledger: rebuilt %d entries from the audit store %s (%d decisions read; "
            "%d already on %s; %d events not rebuildable) and produced them to %s in %.1fs",
            tally.entries,
            where,
            tally.rows,
            tally.present,
            EVENTS_TOPIC,
            tally.skipped,
            EVENTS_TOPIC,
            time.monotonic() - started,
        )
    return tally


def producer_send(producer: Any, timeout: float = 60.0) -> Send:
    """``send`` through a CheckedProducer (hub/kafka/producer.py): each chunk acknowledged
    by the broker before it returns, or DeliveryFailed (the start fails; nothing kept)."""

    def send(entries: Sequence[LedgerEntry]) -> None:
        for entry in entries:
            producer.send(EVENTS_TOPIC, entry.to_json(), entry.key(), [])
        producer.flush_or_raise(timeout)

    return send

"""Issue 18 at the SQL poller, on the real broker: a changed row is the same event (and a
correction where the version column is mapped to envelope.revision); a soft-deleted row is
published as an event-retraction of its event, the same retraction however often it is
re-read."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import fastavro
import pytest
from sqlalchemy import Boolean, Column, Integer, MetaData, create_engine, update

from connectors.sources.sql_poller import SqlPollerSource
from hub.broker import EmbeddedBroker, ensure_topics
from hub.catalogue import Catalogue, partner_topic
from tests.connectors.conftest import read_topic
from tests.connectors.sources.test_sql_poller import (
    T0,
    TOPIC,
    _drain,
    _row,
    _table,
    build_poller,
    probation_config,
)

pytestmark = pytest.mark.integration
RETRACTIONS = partner_topic("probation-nw", "event-retraction")


def poller(url: str, broker: EmbeddedBroker, registry_url: str, tmp: Path) -> SqlPollerSource:
    data = probation_config(tmp)
    data["source"]["mapping"]["fields"]["envelope.revision"] = "version"
    data["source"]["deleted_column"] = "deleted"
    data["source"]["retraction_reason"] = "WRONG_PERSON"
    return build_poller(data, url, broker, registry_url)


def decoded(catalogue: Catalogue, slug: str, topic: str, n: int, bootstrap: str) -> list[Any]:
    et = catalogue.get(slug)
    assert et is not None
    return [
        fastavro.schemaless_reader(io.BytesIO(m.value()[5:]), et.parsed, None)
        for m in read_topic(bootstrap, topic, n, timeout=5)
    ]


def test_updated_rows_are_revisions_and_soft_deleted_rows_retractions(
    broker: EmbeddedBroker, registry_url: str, catalogue: Catalogue, tmp_path: Path
) -> None:
    ensure_topics(broker.bootstrap, [TOPIC, RETRACTIONS])
    url = f"sqlite:///{tmp_path / 'probation.db'}"
    engine = create_engine(url)
    table = _table(MetaData())
    table.append_column(Column("version", Integer, nullable=False, default=1))
    table.append_column(Column("deleted", Boolean, nullable=False, default=False))
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            table.insert(),
            [_row(i, T0 + timedelta(minutes=i)) | {"version": 1, "deleted": False} for i in (1, 2)],
        )
    source = poller(url, broker, registry_url, tmp_path)
    assert _drain(source) == 2
    later = T0 + timedelta(hours=1)
    with engine.begin() as conn:  # the case system corrects one row and deletes the other
        conn.execute(
            update(table)
            .where(table.c.update_id == 1)
            .values(version=2, rosh="VERY_HIGH", updated_at=later)
        )
        conn.execute(
            update(table).where(table.c.update_id == 2).values(deleted=True, updated_at=later)
        )
    assert _drain(source) == 2
    source.close()
    # Re-read from scratch (a lost checkpoint): the same events and the same retraction.
    (tmp_path / "state").rename(tmp_path / "state-old")
    again = poller(url, broker, registry_url, tmp_path)
    assert _drain(again) == 2
    again.close()
    engine.dispose()
    events = decoded(catalogue, "probation-update", TOPIC, 10**6, broker.bootstrap)
    mine = {
        str(e["envelope"]["event_id"]): e
        for e in events
        if e["case_reference_number"] in ("X100001", "X100002")
    }
    revisions = sorted(
        (e["case_reference_number"], e["envelope"]["revision"])
        for e in events
        if e["case_reference_number"] in ("X100001", "X100002")
    )
    assert revisions == [("X100001", 1), ("X100001", 2), ("X100001", 2), ("X100002", 1)]
    retractions = decoded(catalogue, "event-retraction", RETRACTIONS, 10**6, broker.bootstrap)
    [deleted_id] = [i for i, e in mine.items() if e["case_reference_number"] == "X100002"]
    ours = [r for r in retractions if str(r["retracted_event_id"]) == deleted_id]
    assert len(ours) == 2 and {r["reason"] for r in ours} == {"WRONG_PERSON"}
    assert len({str(r["envelope"]["event_id"]) for r in ours}) == 1, "re-read: same retraction"

"""The SQL table poller on SQLite and a real PostgreSQL: rows after the watermark become
signed events, ties on the watermark are broken by the key, a restart resumes from the
checkpoint, and a row that fails mapping is rejected with its key while the rest go on."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Column, Date, DateTime, Integer, MetaData, String, Table, create_engine

from connectors.base.config import parse_config
from connectors.base.mapping import EVENT_ID_NAMESPACE
from connectors.base.rejects import RejectLog
from connectors.base.runtime import build
from connectors.sources.sql_poller import SqlPollerSource
from hub.broker import EmbeddedBroker, ensure_topics
from hub.catalogue import partner_topic
from tests.connectors.conftest import ROOT, read_topic

pytestmark = pytest.mark.integration
TOPIC = partner_topic("probation-nw", "probation-update")
T0 = datetime(2026, 11, 2, 9, 0)


def _table(metadata: MetaData) -> Table:
    return Table(
        "hub_probation_updates",
        metadata,
        Column("update_id", Integer, primary_key=True),
        Column("updated_at", DateTime, nullable=False),
        Column("crn", String(20)),
        Column("forename", String(50)),
        Column("surname", String(50)),
        Column("dob", Date),
        Column("sex", String(1)),
        Column("pnc", String(20)),
        Column("kind", String(30)),
        Column("rosh", String(20)),
        Column("effective_date", Date),
        Column("team_name", String(80)),
        Column("borough", String(20)),
    )


def _row(i: int, at: datetime, **over: Any) -> dict[str, Any]:
    base = {
        "update_id": i,
        "updated_at": at,
        "crn": f"X{100000 + i}",
        "forename": "Leo",
        "surname": "Brackenbury",
        "dob": date(1990, 1, 1) + timedelta(days=i),
        "sex": "M",
        "pnc": None,
        "kind": "RECALL",
        "rosh": "HIGH",
        "effective_date": at.date(),
        "team_name": "Liverpool North PDU",
        "borough": "LIVERPOOL",
    }
    return base | over


def probation_config(tmp: Path) -> dict[str, Any]:
    """The probation SQL poller example with a development signing key and state in ``tmp``."""
    data: dict[str, Any] = yaml.safe_load(
        (ROOT / "connectors" / "examples" / "probation-sql-poller.yaml").read_text()
    )
    data["signing"] = {"key_id": "probation-nw/dev1", "dev_keys_dir": str(tmp / "keys")}
    data["state_dir"] = str(tmp / "state")
    data.pop("health")
    return data


def build_poller(
    data: dict[str, Any], url: str, broker: EmbeddedBroker, registry_url: str
) -> SqlPollerSource:
    env = {
        "PROBATION_DB_URL": url,
        "HUB_BOOTSTRAP_SERVERS": broker.bootstrap,
        "HUB_SCHEMA_REGISTRY_URL": registry_url,
    }
    poller = build(parse_config(data), env)
    assert isinstance(poller, SqlPollerSource)
    return poller


def _poller(url: str, broker: EmbeddedBroker, registry_url: str, tmp_path: Path) -> SqlPollerSource:
    data = probation_config(tmp_path)
    data["source"]["batch_rows"] = 7  # several batches, so checkpoints move between them
    return build_poller(data, url, broker, registry_url)


def _drain(poller: SqlPollerSource) -> int:
    total = 0
    while n := poller.poll():
        total += n
    return total


def test_polls_by_watermark_and_resumes(
    database_url: str, broker: EmbeddedBroker, registry_url: str, tmp_path: Path
) -> None:
    ensure_topics(broker.bootstrap, [TOPIC])
    engine = create_engine(database_url)
    table = _table(MetaData())
    table.metadata.create_all(engine)
    rows = [_row(i, T0 + timedelta(minutes=i)) for i in range(1, 21)]
    rows[4]["rosh"] = "EXTREME"  # not a RoSH level: rejected, the rest go on
    rows[9]["kind"] = None  # a required value missing
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)

    poller = _poller(database_url, broker, registry_url, tmp_path)
    assert _drain(poller) == 20
    assert poller.ctx.counts.published == 18
    poller.close()

    # New rows: two share the last watermark (the key breaks the tie), three are later.
    last = rows[-1]["updated_at"]
    more = [
        _row(21, last),
        _row(22, last),
        *(_row(i, last + timedelta(minutes=i)) for i in (23, 24, 25)),
    ]
    with engine.begin() as conn:
        conn.execute(table.insert(), more)
    restarted = _poller(database_url, broker, registry_url, tmp_path)
    assert _drain(restarted) == 5 and restarted.ctx.counts.published == 5
    assert _drain(restarted) == 0
    restarted.close()
    engine.dispose()

    rejects = RejectLog(tmp_path / "state" / "rejects", "probation-updates-sql").entries()
    assert sorted((r["key"], r["code"], r["field"]) for r in rejects) == [
        ("10", "missing-value", "update_kind"),
        ("5", "wrong-type", "rosh_level"),
    ]
    good = [r["update_id"] for r in rows + more if r["update_id"] not in (5, 10)]
    expected = {
        str(uuid.uuid5(EVENT_ID_NAMESPACE, f"probation-nw/probation-update/{i}")) for i in good
    }
    records = read_topic(broker.bootstrap, TOPIC, len(expected))
    assert Counter(m.key().decode() for m in records) == Counter(expected)  # each exactly once

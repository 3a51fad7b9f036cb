"""Promise (issue 18): ``hub connector run`` enforces a SQL sink's retention on a timer, and
the audit records each erasure (DPA 2018 s62). Real broker, processor, sink and audit
ingester; the clock is injected, so two years pass in a test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from connectors.base.errors import ConnectorConfigError
from connectors.base.runtime import build
from connectors.sinks.retention import parse_period
from connectors.sinks.sql_upsert import SqlUpsertWriter
from tests.connectors.conftest import Hub, Stream, wait_for
from tests.connectors.sinks.helpers import (
    MSN,
    MSN_SQL,
    Broker,
    Clock,
    audit_erasures,
    hourly,
    run_msn_sink,
)

MSN_CASES = Stream(MSN, "safeguarding-concern", "police-msn@1")


@pytest.mark.integration
def test_the_running_sink_erases_past_retention_and_the_audit_shows_it(
    hub: Hub, tmp_path: Path
) -> None:
    msn = run_msn_sink(hub, tmp_path, MSN_SQL, MSN_DB_URL=f"sqlite:///{tmp_path / 'msn.db'}")
    sink, timer, clock = msn.runner, msn.timer, msn.clock
    assert isinstance(sink.writer, SqlUpsertWriter)
    assert timer.runs and timer.runs[-1].erased == (), "the first run, at start, erased nothing"
    held = {r["disclosure_id"] for r in sink.writer.rows()}

    # A year on: not yet due under the MSN agreement's P2Y, though the timer ran again.
    clock.now += timedelta(days=366)
    wait_for(lambda: len(timer.runs) >= 2, 20, "the second retention run")
    assert {r["disclosure_id"] for r in sink.writer.rows()} == held
    # Two years and two days on: every row goes, each with an erasure receipt.
    clock.now += timedelta(days=367)
    wait_for(lambda: len(timer.runs) >= 3, 20, "the third retention run")
    assert set(timer.runs[-1].erased) == held and sink.writer.rows() == []

    store = audit_erasures(hub, tmp_path, held)
    assert not _outbox(tmp_path), "the outbox is emptied once the broker has the receipts"
    store.close()


def _outbox(tmp_path: Path) -> list[Any]:
    from sqlalchemy import MetaData, Table

    engine = create_engine(f"sqlite:///{tmp_path / 'msn.db'}")
    table = Table("msn_cases_erasures", MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        rows = list(conn.execute(select(table)))
    engine.dispose()
    return rows


def _deliver(writer: SqlUpsertWriter, n: int) -> list[str]:
    deliveries = [
        MSN_CASES.delivery(
            f"d-{i}",
            {"envelope": {"event_id": f"e-{i}", "source_partner": "merseyside-police"}},
            offset=i,
        )
        for i in range(n)
    ]
    assert all(o.status == "delivered" for o in writer.write(deliveries))
    return [d.disclosure_id for d in deliveries]


def test_receipts_survive_a_refused_send_and_a_restart(tmp_path: Path) -> None:
    """The erasure is committed with its receipts in an outbox: neither a refused send nor a
    crash before the send loses the audit's record of it."""
    url = f"sqlite:///{tmp_path / 'msn.db'}"
    start = datetime(2026, 1, 5, tzinfo=UTC)
    clock = Clock(start)
    writer = SqlUpsertWriter(url, "msn_cases", "msn-system", clock=clock)
    ids = _deliver(writer, 3)
    periods = {"police-msn": parse_period("P2Y")}
    timer = hourly(writer.retention_enforcer(MSN, periods, clock=clock), clock)
    broker = Broker()
    timer.tick(broker)
    assert timer.runs[-1].erased == () and broker.sent == []
    clock.now = start + timedelta(days=2 * 366)
    timer.tick(broker)  # erased, but the broker refuses the receipts
    assert writer.rows() == [] and timer.failures == 1 and broker.sent == []
    timer.tick(broker)  # held back for retry_after: no tight loop against a broker down
    assert timer.failures == 1
    # The process dies here. A new one (a new timer over the same database) sends them first.
    writer.close()
    writer = SqlUpsertWriter(url, "msn_cases", "msn-system", clock=clock)
    again = hourly(writer.retention_enforcer(MSN, periods, clock=clock), clock)
    broker.down = False
    run = again.tick(broker)
    assert run is not None and run.erased == ()
    assert broker.ids() == sorted(f"{i}:erased" for i in ids)
    again.tick(broker)
    assert len(broker.sent) == len(ids), "sent once, then gone from the outbox"
    writer.close()


def test_a_bad_period_is_named_and_the_sink_not_built(tmp_path: Path) -> None:
    from connectors.base.config import parse_config

    config = parse_config(
        {
            "name": "msn-sink",
            "recipient": MSN,
            "state_dir": str(tmp_path),
            "sink": MSN_SQL,
            "retention": {"periods": {"police-msn": "six years"}},
        }
    )
    env = {
        "HUB_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "HUB_SCHEMA_REGISTRY_URL": "http://127.0.0.1:1",
        "MSN_DB_URL": f"sqlite:///{tmp_path / 'msn.db'}",
    }
    with pytest.raises(ConnectorConfigError, match=r"msn-sink: retention: .*ISO 8601"):
        build(config, env)

"""The Alembic migrations and the table definitions describe the same schema."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from hub.audit.migrate import current, head, upgrade
from hub.audit.store import AuditStore
from hub.audit.tables import metadata


def test_migrations_produce_the_declared_tables() -> None:
    engine = create_engine("sqlite://")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert current(engine) == head()


def test_opening_a_store_migrates_it_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    AuditStore(url).close()
    store = AuditStore(url)  # second open: already at head, nothing to do
    assert current(store.engine) == head()
    assert {"decisions", "dead_letters", "receipts", "chain", "checkpoints"} <= set(
        inspect(store.engine).get_table_names()
    )
    store.close()

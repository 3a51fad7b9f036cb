"""The registry's database tables and engine (SQLAlchemy Core).

``create_all`` adds tables missing from an older database (``subject_config`` came later)
and never alters existing ones, so a registry database keeps working across upgrades.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, Select
from sqlalchemy.pool import StaticPool

metadata = sa.MetaData()
schemas = sa.Table(
    "schemas",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    sa.Column("guid", sa.String(36), nullable=False, unique=True),
    sa.Column("schema_type", sa.String(16), nullable=False),
    sa.Column("schema_text", sa.Text, nullable=False),
    # Never reuse an id. Rows are never deleted either: a permanently deleted schema that
    # is registered again gets its old id back.
    sqlite_autoincrement=True,
)
versions = sa.Table(
    "subject_versions",
    metadata,
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("schema_id", sa.Integer, sa.ForeignKey("schemas.id"), nullable=False, index=True),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
)
config = sa.Table(
    "config",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
subject_config = sa.Table(
    "subject_config",
    metadata,
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column("compatibility", sa.String(32), nullable=False),
)


def create_engine(url: str) -> Engine:
    parsed = sa.make_url(url)
    # check_same_thread off: the HTTP server's worker threads share the engine.
    if parsed.get_backend_name() != "sqlite":
        engine = sa.create_engine(url)
    elif parsed.database in (None, "", ":memory:"):
        # One shared connection, or every pooled connection would see its own empty DB.
        engine = sa.create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})
    metadata.create_all(engine)
    return engine


def live(query: Select[Any], include_deleted: bool) -> Select[Any]:
    """Restrict a query on ``subject_versions`` to versions that are not soft-deleted."""
    return query if include_deleted else query.where(versions.c.deleted.is_(False))

"""SQLite persistence for the embedded schema registry (SQLAlchemy Core).

Schema ids are global: one id per distinct schema document, shared by every subject that
registers it, and stable across restarts because they live in the database.

Identity is a fingerprint of the schema's *whole* JSON document in canonical form (sorted
keys, no whitespace), not of Avro's Parsing Canonical Form: PCF drops ``doc``, logical types
and custom attributes such as ``hub.tags``, and the hub's privacy policy is driven by those
tags, so a schema whose tags change must get a new id rather than the old text back.
The schema string is stored and returned exactly as first submitted.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import fastavro
import sqlalchemy as sa
from fastavro.schema import SchemaParseException, UnknownType
from sqlalchemy import ColumnElement, Connection, Engine, Row, Select
from sqlalchemy.pool import StaticPool

from hub.registry.exceptions import (
    InvalidCompatibilityLevel,
    InvalidSchema,
    SchemaNotRegistered,
    SubjectNotFound,
    VersionNotFound,
)

AVRO = "AVRO"
SUPPORTED_TYPES: tuple[str, ...] = (AVRO,)
DEFAULT_COMPATIBILITY = "BACKWARD"
COMPATIBILITY_LEVELS = frozenset(
    {"NONE", "BACKWARD", "FORWARD", "FULL"}
    | {f"{kind}_TRANSITIVE" for kind in ("BACKWARD", "FORWARD", "FULL")}
)
Version = int | Literal["latest"]

# Fixed namespace so the same schema gets the same guid in every registry instance.
_GUID_NAMESPACE = uuid.UUID("6f1d3c5e-2b8a-5c4e-9f0d-7a1b2c3d4e5f")

_metadata = sa.MetaData()
_schemas = sa.Table(
    "schemas",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    sa.Column("guid", sa.String(36), nullable=False, unique=True),
    sa.Column("schema_type", sa.String(16), nullable=False),
    sa.Column("schema_text", sa.Text, nullable=False),
    sqlite_autoincrement=True,  # never reuse an id, even if rows are ever removed
)
_versions = sa.Table(
    "subject_versions",
    _metadata,
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("schema_id", sa.Integer, sa.ForeignKey("schemas.id"), nullable=False, index=True),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
)
_config = sa.Table(
    "config",
    _metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


@dataclass(frozen=True)
class StoredSchema:
    schema_id: int
    guid: str
    schema_type: str
    schema_str: str


@dataclass(frozen=True)
class SubjectVersion:
    subject: str
    version: int
    schema: StoredSchema


def identify(schema_str: str, schema_type: str = AVRO) -> tuple[str, str]:
    """Validate the schema; return its type and identity (sha256 of type + canonical JSON)."""
    kind = schema_type.upper()
    if kind not in SUPPORTED_TYPES:
        raise InvalidSchema(
            f"Invalid schema type '{schema_type}': this registry supports only "
            + ", ".join(SUPPORTED_TYPES)
        )
    canonical = _canonical_avro(schema_str)
    return kind, hashlib.sha256(f"{kind}\n{canonical}".encode()).hexdigest()


def _canonical_avro(schema_str: str) -> str:
    try:
        doc: Any = json.loads(schema_str)
    except json.JSONDecodeError as exc:
        raise InvalidSchema(f"Invalid schema: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict | list | str):
        raise InvalidSchema("Invalid Avro schema: must be a JSON object, array or type name")
    # Serialise before parsing so nothing fastavro does can leak into the identity.
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        fastavro.parse_schema(doc)
    except UnknownType as exc:
        raise InvalidSchema(f"Invalid Avro schema: unknown type name '{exc.name}'") from exc
    except KeyError as exc:
        raise InvalidSchema(f"Invalid Avro schema: missing required attribute {exc}") from exc
    except (SchemaParseException, ValueError, TypeError, AttributeError) as exc:
        raise InvalidSchema(f"Invalid Avro schema: {exc}") from exc
    return canonical


def _create_engine(url: str) -> Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url)
    any_thread = {"check_same_thread": False}  # the server thread uses it too
    if parsed.database in (None, "", ":memory:"):
        # One shared connection, or every pooled connection would see its own empty DB.
        return sa.create_engine(url, poolclass=StaticPool, connect_args=any_thread)
    return sa.create_engine(url, connect_args=any_thread)


def _stored(row: Row[Any] | None) -> StoredSchema | None:
    if row is None:
        return None
    return StoredSchema(row.id, row.guid, row.schema_type, row.schema_text)


def _live(query: Select[Any], include_deleted: bool) -> Select[Any]:
    return query if include_deleted else query.where(_versions.c.deleted.is_(False))


class SchemaStore:
    """Schemas, subject versions and the global compatibility level, in one database.

    All access goes through one lock: it makes register's read-then-insert atomic and
    keeps the single in-memory SQLite connection from being used by two threads at once.
    """

    def __init__(self, url: str = "sqlite://") -> None:
        self._engine = _create_engine(url)
        self._lock = threading.RLock()
        _metadata.create_all(self._engine)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> SchemaStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def register(self, subject: str, schema_str: str, schema_type: str = AVRO) -> int:
        """Register the schema under the subject and return its global id."""
        return self.register_version(subject, schema_str, schema_type).schema.schema_id

    def register_version(
        self, subject: str, schema_str: str, schema_type: str = AVRO
    ) -> SubjectVersion:
        """Like ``register`` but also says which subject version holds the schema.

        A schema already live under the subject keeps its version; otherwise it becomes
        the next version. Validation happens first, so a rejected schema changes nothing.
        """
        kind, fp = identify(schema_str, schema_type)
        with self._lock, self._engine.begin() as conn:
            stored = self._find(conn, _schemas.c.fingerprint == fp)
            if stored is None:
                guid = str(uuid.uuid5(_GUID_NAMESPACE, fp))
                values = {"fingerprint": fp, "guid": guid, "schema_type": kind}
                result = conn.execute(sa.insert(_schemas).values(schema_text=schema_str, **values))
                new_id = result.inserted_primary_key
                assert new_id is not None
                stored = StoredSchema(int(new_id[0]), guid, kind, schema_str)
            else:
                existing = self._version_of(conn, subject, stored.schema_id, False)
                if existing is not None:
                    return SubjectVersion(subject, existing, stored)
            last = conn.execute(
                sa.select(sa.func.max(_versions.c.version)).where(_versions.c.subject == subject)
            ).scalar()
            version = (last or 0) + 1
            conn.execute(
                sa.insert(_versions).values(
                    subject=subject, version=version, schema_id=stored.schema_id, deleted=False
                )
            )
            return SubjectVersion(subject, version, stored)

    def get_by_id(self, schema_id: int) -> StoredSchema | None:
        if not 1 <= schema_id <= 2**63 - 1:  # SQLite integers are 64-bit
            return None
        with self._lock, self._engine.connect() as conn:
            return self._find(conn, _schemas.c.id == schema_id)

    def get_by_guid(self, guid: str) -> StoredSchema | None:
        with self._lock, self._engine.connect() as conn:
            return self._find(conn, _schemas.c.guid == guid.lower())

    def subjects(self, include_deleted: bool = False) -> list[str]:
        query = sa.select(_versions.c.subject).distinct().order_by(_versions.c.subject)
        query = _live(query, include_deleted)
        with self._lock, self._engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def versions(self, subject: str, include_deleted: bool = False) -> list[int]:
        """Version numbers of the subject, ascending; ``SubjectNotFound`` if it has none."""
        query = sa.select(_versions.c.version).where(_versions.c.subject == subject)
        query = _live(query, include_deleted)
        with self._lock, self._engine.connect() as conn:
            found = list(conn.execute(query.order_by(_versions.c.version)).scalars())
        if not found:
            raise SubjectNotFound(f"Subject '{subject}' not found.")
        return found

    def get_version(
        self, subject: str, version: Version, include_deleted: bool = False
    ) -> SubjectVersion:
        with self._lock:
            available = self.versions(subject, include_deleted)
            number = available[-1] if version == "latest" else version
            if number not in available:
                raise VersionNotFound(f"Version {number} not found.")
            query = sa.select(_versions.c.schema_id).where(
                _versions.c.subject == subject, _versions.c.version == number
            )
            with self._engine.connect() as conn:
                stored = self._find(conn, _schemas.c.id == conn.execute(query).scalar_one())
        assert stored is not None  # the foreign key guarantees it
        return SubjectVersion(subject, number, stored)

    def lookup(
        self,
        subject: str,
        schema_str: str,
        schema_type: str = AVRO,
        include_deleted: bool = False,
    ) -> SubjectVersion:
        """The version under which this schema is registered in the subject."""
        _, fp = identify(schema_str, schema_type)
        with self._lock:
            self.versions(subject, include_deleted)  # raises SubjectNotFound
            with self._engine.connect() as conn:
                stored = self._find(conn, _schemas.c.fingerprint == fp)
                version = None
                if stored is not None:
                    version = self._version_of(conn, subject, stored.schema_id, include_deleted)
        if stored is None or version is None:
            raise SchemaNotRegistered(f"Schema not found under subject '{subject}'.")
        return SubjectVersion(subject, version, stored)

    def usages(self, schema_id: int, include_deleted: bool = False) -> list[tuple[str, int]]:
        """Every (subject, version) that holds the schema id."""
        if self.get_by_id(schema_id) is None:
            raise SchemaNotRegistered(f"Schema {schema_id} not found.")
        query = _live(
            sa.select(_versions.c.subject, _versions.c.version)
            .where(_versions.c.schema_id == schema_id)
            .order_by(_versions.c.subject, _versions.c.version),
            include_deleted,
        )
        with self._lock, self._engine.connect() as conn:
            return [(r.subject, r.version) for r in conn.execute(query)]

    def get_compatibility(self) -> str:
        with self._lock, self._engine.connect() as conn:
            value = conn.execute(
                sa.select(_config.c.value).where(_config.c.key == "compatibility")
            ).scalar()
        return DEFAULT_COMPATIBILITY if value is None else str(value)

    def set_compatibility(self, level: str) -> str:
        """Store the global level (checking schemas against it is not implemented yet)."""
        normalised = level.upper()
        if normalised not in COMPATIBILITY_LEVELS:
            raise InvalidCompatibilityLevel(
                f"Invalid compatibility level '{level}'. Valid values are "
                + ", ".join(sorted(COMPATIBILITY_LEVELS))
            )
        with self._lock, self._engine.begin() as conn:
            conn.execute(_config.delete().where(_config.c.key == "compatibility"))
            conn.execute(sa.insert(_config).values(key="compatibility", value=normalised))
        return normalised

    @staticmethod
    def _version_of(
        conn: Connection, subject: str, schema_id: int, include_deleted: bool
    ) -> int | None:
        query = sa.select(sa.func.max(_versions.c.version)).where(
            _versions.c.subject == subject, _versions.c.schema_id == schema_id
        )
        found = conn.execute(_live(query, include_deleted)).scalar()
        return None if found is None else int(found)

    @staticmethod
    def _find(conn: Connection, condition: ColumnElement[bool]) -> StoredSchema | None:
        return _stored(conn.execute(sa.select(_schemas).where(condition)).first())

"""Persistence for the embedded schema registry: schemas, subject versions, compatibility.

Schema ids are global: one id per distinct schema document, shared by every subject that
registers it, and stable across restarts because they live in the database. Deleting
never frees an id: the schema row stays, so registering the same schema again brings
the same id back, and a new schema always gets a new one.

Which documents are "the same schema" is decided in ``hub.registry.identity``; the schema
string is stored and returned exactly as first submitted.

Deletes follow Confluent: a soft delete hides versions (``include_deleted`` shows them);
a permanent delete is allowed only after a soft delete and removes the versions, after
which the schema is no longer served by id unless another subject still holds it.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Connection, Row

from hub.contexts import Closing
from hub.registry import levels
from hub.registry import tables as t
from hub.registry.compatibility import UnresolvableSchema, check_compatibility
from hub.registry.exceptions import (
    IncompatibleSchema,
    InvalidSchema,
    SchemaNotRegistered,
    SubjectCompatibilityNotConfigured,
    SubjectNotFound,
    SubjectNotSoftDeleted,
    SubjectSoftDeleted,
    VersionNotFound,
    VersionNotSoftDeleted,
    VersionSoftDeleted,
)
from hub.registry.identity import AVRO, SUPPORTED_TYPES, identify

__all__ = ["AVRO", "SUPPORTED_TYPES", "SchemaStore", "StoredSchema", "SubjectVersion", "Version"]

Version = int | Literal["latest"]

# Fixed namespace so the same schema gets the same guid in every registry instance.
_GUID_NAMESPACE = uuid.UUID("6f1d3c5e-2b8a-5c4e-9f0d-7a1b2c3d4e5f")


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


def _stored(row: Row[Any] | None) -> StoredSchema | None:
    if row is None:
        return None
    return StoredSchema(row.id, row.guid, row.schema_type, row.schema_text)


def _in_use() -> ColumnElement[bool]:
    """Schemas some subject version (live or soft-deleted) still holds."""
    return sa.exists().where(t.versions.c.schema_id == t.schemas.c.id)


class SchemaStore(Closing):
    """Schemas, subject versions and compatibility levels, in one database.

    All access goes through one lock: it makes read-check-write sequences (register,
    delete) atomic and keeps the single in-memory SQLite connection from being used by
    two threads at once.
    """

    def __init__(self, url: str = "sqlite://") -> None:
        self._engine = t.create_engine(url)
        self._lock = threading.RLock()

    def close(self) -> None:
        self._engine.dispose()

    # Registration and reads

    def register(self, subject: str, schema_str: str, schema_type: str = AVRO) -> int:
        """Register the schema under the subject and return its global id."""
        return self.register_version(subject, schema_str, schema_type).schema.schema_id

    def register_version(
        self, subject: str, schema_str: str, schema_type: str = AVRO
    ) -> SubjectVersion:
        """Like ``register`` but also says which subject version holds the schema.

        A schema already live under the subject keeps its version; otherwise it must pass
        the subject's compatibility level and becomes the next version. Every check comes
        before any write, so a rejected schema changes nothing and uses up no id.
        """
        kind, fp = identify(schema_str, schema_type)
        with self._lock, self._engine.begin() as conn:
            stored = self._find(conn, t.schemas.c.fingerprint == fp)
            if stored is not None:
                existing = self._version_of(conn, subject, stored.schema_id, False)
                if existing is not None:
                    return SubjectVersion(subject, existing, stored)
            level = levels.effective_level(conn, subject)
            problems = self._problems(conn, subject, schema_str, level, None)
            if problems:
                summary = (
                    "Schema being registered is incompatible with an earlier schema for "
                    f'subject "{subject}" (compatibility {level}): '
                )
                raise IncompatibleSchema(summary + " | ".join(problems), problems)
            if stored is None:
                guid = str(uuid.uuid5(_GUID_NAMESPACE, fp))
                values = {"fingerprint": fp, "guid": guid, "schema_type": kind}
                result = conn.execute(sa.insert(t.schemas).values(schema_text=schema_str, **values))
                new_id = result.inserted_primary_key
                assert new_id is not None
                stored = StoredSchema(int(new_id[0]), guid, kind, schema_str)
            # Soft-deleted versions count: a version number is never handed out twice
            # while its row exists.
            last = conn.execute(
                sa.select(sa.func.max(t.versions.c.version)).where(t.versions.c.subject == subject)
            ).scalar()
            version = (last or 0) + 1
            conn.execute(
                sa.insert(t.versions).values(
                    subject=subject, version=version, schema_id=stored.schema_id, deleted=False
                )
            )
            return SubjectVersion(subject, version, stored)

    def get_by_id(self, schema_id: int) -> StoredSchema | None:
        """The schema with this id, unless every version holding it was permanently deleted."""
        if not 1 <= schema_id <= 2**63 - 1:  # SQLite integers are 64-bit
            return None
        with self._lock, self._engine.connect() as conn:
            return self._find(conn, sa.and_(t.schemas.c.id == schema_id, _in_use()))

    def get_by_guid(self, guid: str) -> StoredSchema | None:
        with self._lock, self._engine.connect() as conn:
            return self._find(conn, sa.and_(t.schemas.c.guid == guid.lower(), _in_use()))

    def subjects(self, include_deleted: bool = False) -> list[str]:
        query = sa.select(t.versions.c.subject).distinct().order_by(t.versions.c.subject)
        with self._lock, self._engine.connect() as conn:
            return list(conn.execute(t.live(query, include_deleted)).scalars())

    def versions(self, subject: str, include_deleted: bool = False) -> list[int]:
        """Version numbers of the subject, ascending; ``SubjectNotFound`` if it has none."""
        with self._lock, self._engine.connect() as conn:
            found = [
                v for v, deleted in self._rows(conn, subject) if include_deleted or not deleted
            ]
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
            query = sa.select(t.versions.c.schema_id).where(
                t.versions.c.subject == subject, t.versions.c.version == number
            )
            with self._engine.connect() as conn:
                stored = self._find(conn, t.schemas.c.id == conn.execute(query).scalar_one())
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
                stored = self._find(conn, t.schemas.c.fingerprint == fp)
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
        query = t.live(
            sa.select(t.versions.c.subject, t.versions.c.version)
            .where(t.versions.c.schema_id == schema_id)
            .order_by(t.versions.c.subject, t.versions.c.version),
            include_deleted,
        )
        with self._lock, self._engine.connect() as conn:
            return [(r.subject, r.version) for r in conn.execute(query)]

    # Deletes

    def delete_subject(self, subject: str, permanent: bool = False) -> list[int]:
        """Soft-delete the subject's live versions, or permanently remove soft-deleted ones.

        Returns the versions deleted. The subject's own compatibility level goes with it.
        """
        with self._lock, self._engine.begin() as conn:
            rows = self._rows(conn, subject)
            if not rows:
                raise SubjectNotFound(f"Subject '{subject}' not found.")
            live = [v for v, deleted in rows if not deleted]
            where = t.versions.c.subject == subject
            if permanent:
                if live:
                    raise SubjectNotSoftDeleted(
                        f"Subject '{subject}' was not deleted first before being permanently "
                        "deleted"
                    )
                conn.execute(sa.delete(t.versions).where(where))
            elif not live:
                raise SubjectSoftDeleted(
                    f"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently"
                )
            else:
                conn.execute(sa.update(t.versions).where(where).values(deleted=True))
            levels.set_subject_level(conn, subject, None)
            return [v for v, _ in rows] if permanent else live

    def delete_version(self, subject: str, version: Version, permanent: bool = False) -> int:
        """Soft-delete one version, or permanently remove a soft-deleted one; returns it.

        ``latest`` means the latest live version, as Confluent resolves it.
        """
        with self._lock, self._engine.begin() as conn:
            rows = dict(self._rows(conn, subject))
            if not rows:
                raise SubjectNotFound(f"Subject '{subject}' not found.")
            live = [v for v, deleted in rows.items() if not deleted]
            number = (live[-1] if live else None) if version == "latest" else version
            if number is None or number not in rows:
                raise VersionNotFound(f"Version {number or version} not found.")
            where = sa.and_(t.versions.c.subject == subject, t.versions.c.version == number)
            if permanent:
                if not rows[number]:
                    raise VersionNotSoftDeleted(
                        f"Subject '{subject}' Version {number} was not deleted first before "
                        "being permanently deleted"
                    )
                conn.execute(sa.delete(t.versions).where(where))
            elif rows[number]:
                raise VersionSoftDeleted(
                    f"Subject '{subject}' Version {number} was soft deleted.Set permanent=true "
                    "to delete permanently"
                )
            else:
                conn.execute(sa.update(t.versions).where(where).values(deleted=True))
                if live == [number]:  # the subject is now empty, as after a subject delete
                    levels.set_subject_level(conn, subject, None)
            return number

    # Compatibility

    def test_compatibility(
        self,
        subject: str,
        schema_str: str,
        schema_type: str = AVRO,
        version: Version | None = None,
    ) -> list[str]:
        """Why the schema could not be registered under the subject's level; empty if it could.

        ``version`` compares with that live version only; None compares with every live
        version the level asks for (the latest, or all for transitive levels).
        """
        identify(schema_str, schema_type)
        with self._lock, self._engine.connect() as conn:
            rows = self._rows(conn, subject)
            live = [v for v, deleted in rows if not deleted]
            number: int | None = None
            if version == "latest":
                if not live:  # nothing to be incompatible with, as Confluent answers
                    return []
                number = live[-1]
            elif version is not None:
                if not rows:
                    raise SubjectNotFound(f"Subject '{subject}' not found.")
                if version not in live:
                    raise VersionNotFound(f"Version {version} not found.")
                number = version
            level = levels.effective_level(conn, subject)
            return self._problems(conn, subject, schema_str, level, number)

    def get_compatibility(self, subject: str | None = None, default_to_global: bool = True) -> str:
        """The subject's level, else (if ``default_to_global``) the global one."""
        with self._lock, self._engine.connect() as conn:
            own = None if subject is None else levels.subject_level(conn, subject)
            if own is not None:
                return own
            if subject is not None and not default_to_global:
                raise SubjectCompatibilityNotConfigured(
                    f"Subject '{subject}' does not have subject-level compatibility configured"
                )
            return levels.global_level(conn)

    def set_compatibility(self, level: str, subject: str | None = None) -> str:
        """Set the global level, or the subject's own level (the subject need not exist)."""
        normalised = levels.normalise_level(level)
        with self._lock, self._engine.begin() as conn:
            if subject is None:
                levels.set_global_level(conn, normalised)
            else:
                levels.set_subject_level(conn, subject, normalised)
        return normalised

    def delete_compatibility(self, subject: str | None = None) -> str:
        """Remove the subject's own level (or reset the global one); return the old level."""
        with self._lock, self._engine.begin() as conn:
            if subject is None:
                old = levels.global_level(conn)
                levels.set_global_level(conn, None)
                return old
            own = levels.subject_level(conn, subject)
            if own is None:
                raise SubjectCompatibilityNotConfigured(
                    f"Subject '{subject}' does not have subject-level compatibility configured"
                )
            levels.set_subject_level(conn, subject, None)
            return own

    # Helpers, called with the lock held

    def _problems(
        self, conn: Connection, subject: str, schema_str: str, level: str, version: int | None
    ) -> list[str]:
        query = (
            sa.select(t.versions.c.version, t.schemas.c.schema_text)
            .join(t.schemas, t.schemas.c.id == t.versions.c.schema_id)
            .where(t.versions.c.subject == subject, t.versions.c.deleted.is_(False))
            .order_by(t.versions.c.version)
        )
        if version is not None:
            query = query.where(t.versions.c.version == version)
        previous = [
            (f"version {r.version}", json.loads(r.schema_text)) for r in conn.execute(query)
        ]
        try:
            return check_compatibility(level, json.loads(schema_str), previous)
        except UnresolvableSchema as exc:  # fastavro accepted it, so this should not happen
            raise InvalidSchema(f"Invalid Avro schema: {exc}") from exc

    @staticmethod
    def _rows(conn: Connection, subject: str) -> list[tuple[int, bool]]:
        """(version, soft-deleted) of every version row of the subject, ascending."""
        query = (
            sa.select(t.versions.c.version, t.versions.c.deleted)
            .where(t.versions.c.subject == subject)
            .order_by(t.versions.c.version)
        )
        return [(int(r.version), bool(r.deleted)) for r in conn.execute(query)]

    @staticmethod
    def _version_of(
        conn: Connection, subject: str, schema_id: int, include_deleted: bool
    ) -> int | None:
        query = sa.select(sa.func.max(t.versions.c.version)).where(
            t.versions.c.subject == subject, t.versions.c.schema_id == schema_id
        )
        found = conn.execute(t.live(query, include_deleted)).scalar()
        return None if found is None else int(found)

    @staticmethod
    def _find(conn: Connection, condition: ColumnElement[bool]) -> StoredSchema | None:
        return _stored(conn.execute(sa.select(t.schemas).where(condition)).first())

"""Compatibility levels as stored: one global level, and optional levels per subject.

Functions take an open connection so the store can read and change levels inside the
same transaction as the versions they govern.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from hub.registry import tables as t
from hub.registry.compatibility import COMPATIBILITY_LEVELS
from hub.registry.exceptions import InvalidCompatibilityLevel

DEFAULT_COMPATIBILITY = "BACKWARD"
_GLOBAL_KEY = "compatibility"


def normalise_level(level: str) -> str:
    """The level in upper case; ``InvalidCompatibilityLevel`` (42203) if there is no such level."""
    normalised = level.upper()
    if normalised not in COMPATIBILITY_LEVELS:
        raise InvalidCompatibilityLevel(
            f"Invalid compatibility level '{level}'. Valid values are "
            + ", ".join(sorted(COMPATIBILITY_LEVELS))
        )
    return normalised


def global_level(conn: Connection) -> str:
    value = conn.execute(sa.select(t.config.c.value).where(t.config.c.key == _GLOBAL_KEY)).scalar()
    return DEFAULT_COMPATIBILITY if value is None else str(value)


def set_global_level(conn: Connection, level: str | None) -> None:
    """Store the global level; None goes back to the default."""
    conn.execute(t.config.delete().where(t.config.c.key == _GLOBAL_KEY))
    if level is not None:
        conn.execute(sa.insert(t.config).values(key=_GLOBAL_KEY, value=level))


def subject_level(conn: Connection, subject: str) -> str | None:
    """The subject's own level, or None when it follows the global one."""
    query = sa.select(t.subject_config.c.compatibility).where(t.subject_config.c.subject == subject)
    value = conn.execute(query).scalar()
    return None if value is None else str(value)


def set_subject_level(conn: Connection, subject: str, level: str | None) -> None:
    """Store the subject's own level; None makes it follow the global one again."""
    conn.execute(sa.delete(t.subject_config).where(t.subject_config.c.subject == subject))
    if level is not None:
        conn.execute(sa.insert(t.subject_config).values(subject=subject, compatibility=level))


def effective_level(conn: Connection, subject: str) -> str:
    return subject_level(conn, subject) or global_level(conn)

"""The disclosure audit: one record per decision, dead letters, idempotent on their ids.

The exports are imported when first read (hub/lazy.py): ``import hub.audit.records`` (the
processor, the sinks, ``hub partner check-record``) does not load the store's SQLAlchemy and
alembic."""

from typing import TYPE_CHECKING

from hub.lazy import lazy_exports

if TYPE_CHECKING:
    from hub.audit.records import AuditRecord, DeadLetterRecord
    from hub.audit.store import AuditStore

__all__ = ["AuditRecord", "AuditStore", "DeadLetterRecord"]

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "AuditRecord": "hub.audit.records",
            "AuditStore": "hub.audit.store",
            "DeadLetterRecord": "hub.audit.records",
        },
    )

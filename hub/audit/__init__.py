"""The disclosure audit: one record per decision, dead letters, idempotent on their ids."""

from hub.audit.records import AuditRecord, DeadLetterRecord
from hub.audit.store import AuditStore

__all__ = ["AuditRecord", "AuditStore", "DeadLetterRecord"]

"""Store what processors put on the audit topics, as the audit ingester service does."""

from __future__ import annotations

from hub.audit.store import AuditStore
from hub.config import Settings
from hub.processor.build import build_ingester


def ingest(bootstrap: str, store: AuditStore, idle: float = 0.5) -> int:
    """Run the real ingester (its consumer group carries on from the last call) until it
    has caught up with the audit topics; how many records were new to the store."""
    ingester = build_ingester(Settings(), bootstrap=bootstrap, store=store)
    try:
        return ingester.run_until_idle(idle, timeout=120).stored
    finally:
        ingester.close()

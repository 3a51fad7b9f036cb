"""Open the audit store the way every service does: the configured URL and the hub's audit
signing key (development: generated into the data dir on first use, never committed)."""

from __future__ import annotations

from hub.audit.store import AuditStore
from hub.config import Settings
from hub.identity.keys import PartnerKeyStore

AUDIT_SIGNER = "hub-audit"


def audit_key_store(settings: Settings) -> PartnerKeyStore:
    return PartnerKeyStore(None, settings.data_dir / "audit-keys")


def open_store(settings: Settings) -> AuditStore:
    signer = audit_key_store(settings).dev_signing_key(AUDIT_SIGNER)
    return AuditStore(settings.resolved_audit_url(), signer=signer)

"""``hub audit verify``: is the audit intact? Recomputes the hash chain and checks the signed
checkpoints against the hub's audit public key."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hub.audit.store import AuditStore
from hub.audit.verify import verify_store
from hub.config import load_settings
from hub.identity.keys import PartnerKeyStore

AUDIT_SIGNER = "hub-audit"


def audit_keys(data_dir: Path) -> PartnerKeyStore:
    """The hub's audit signing key (development: generated into the data dir, 0600)."""
    return PartnerKeyStore(None, data_dir / "audit-keys")


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "audit", help="verify the tamper-evident audit store"
    )
    sub = p.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser("verify", help="check the hash chain and signed checkpoints")
    verify.add_argument("--audit-url", default=None, help="SQLAlchemy URL (default: settings)")
    verify.add_argument(
        "--keys",
        type=Path,
        default=None,
        help="folder of audit public keys (*.pub); default <data dir>/audit-keys",
    )
    verify.set_defaults(handler=handle_verify)


def handle_verify(args: argparse.Namespace) -> int:
    settings = load_settings()
    store = AuditStore(args.audit_url or settings.resolved_audit_url())
    keys_dir = args.keys or settings.data_dir / "audit-keys"
    report = verify_store(store, PartnerKeyStore(keys_dir, None).public_keys())
    store.close()
    for problem in report.problems:
        print(problem.line())
    verdict = "intact" if report.ok else f"{len(report.problems)} problems"
    print(f"{report.records} records, {report.checkpoints} signed checkpoints: {verdict}")
    return 0 if report.ok else 1

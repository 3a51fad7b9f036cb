"""``hub audit verify``: is the audit intact? Recomputes the hash chain and checks the signed
checkpoints against the hub's audit public key. ``hub audit export`` writes a signed archive
of a period; ``hub audit verify-export`` checks one with the public key alone."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.cli.ingest import add_ingest
from hub.errors import ConfigError

if TYPE_CHECKING:  # the audit store (SQLAlchemy, alembic) loads when a command runs
    from hub.config import Settings
    from hub.identity.keys import PartnerKeyStore

# hub.audit.setup.AUDIT_SIGNER, for the help text: importing hub.audit for one string would
# load the store's database layer at every `hub` start (tests/cli/test_startup.py checks
# the two agree).
AUDIT_SIGNER = "hub-audit"


def audit_keys(data_dir: Path) -> PartnerKeyStore:
    """The hub's audit signing key (development: generated into the data dir, 0600)."""
    from hub.audit.setup import audit_key_store
    from hub.config import Settings

    return audit_key_store(Settings(data_dir=data_dir))


def store_url(settings: Settings, given: str | None) -> str:
    """``--audit-url``, else the configured store; with neither, and no ``audit.db`` in the
    data dir, the audit of the latest demo run (``<data dir>/runs/<time>/audit.db``), so
    ``hub audit verify`` after ``hub demo`` checks what the demo wrote."""
    if given:
        return given
    if settings.audit_url or (settings.data_dir / "audit.db").exists():
        return settings.resolved_audit_url()
    runs = sorted((settings.data_dir / "runs").glob("*/audit.db"))
    if runs:
        return f"sqlite:///{runs[-1].resolve()}"
    return settings.resolved_audit_url()


def add_audit_url(parser: argparse.ArgumentParser) -> None:
    """``--audit-url``: the store a command reads or writes, resolved by ``store_url``."""
    parser.add_argument(
        "--audit-url",
        default=None,
        help="audit store, a SQLAlchemy URL (default: settings, else the latest demo run's)",
    )


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "audit", help="verify and export the tamper-evident audit store"
    )
    sub = p.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser("verify", help="check the hash chain and signed checkpoints")
    add_audit_url(verify)
    verify.add_argument(
        "--keys",
        type=Path,
        default=None,
        help="folder of audit public keys (*.pub); default <data dir>/audit-keys",
    )
    verify.set_defaults(handler=handle_verify)

    conflicts = sub.add_parser(
        "conflicts",
        help="list decision ids recorded twice with other content, and events decided "
        "with more than one content",
    )
    add_audit_url(conflicts)
    conflicts.set_defaults(handler=handle_conflicts)

    export = sub.add_parser("export", help="write a signed archive of a period's audit records")
    for flag, dest, day in (
        ("--from", "start", "first day"),
        ("--to", "end", "last day, inclusive"),
    ):
        export.add_argument(
            flag, dest=dest, type=date.fromisoformat, required=True, help=f"{day} (YYYY-MM-DD, UTC)"
        )
    export.add_argument("--output", type=Path, required=True, help="archive to write (.zip)")
    add_audit_url(export)
    export.set_defaults(handler=handle_export)

    check = sub.add_parser(
        "verify-export", help="check a signed audit archive with the hub's public key alone"
    )
    check.add_argument("archive", type=Path)
    check.add_argument(
        "--public-key",
        type=Path,
        default=None,
        help=f"the audit public key, PEM (default <data dir>/audit-keys/{AUDIT_SIGNER}.dev1.pub)",
    )
    check.set_defaults(handler=handle_verify_export)
    add_ingest(sub)


def handle_verify(args: argparse.Namespace) -> int:
    from sqlalchemy import make_url

    from hub.audit.store import AuditStore
    from hub.audit.verify import verify_store
    from hub.config import load_settings
    from hub.identity.keys import PartnerKeyStore

    settings = load_settings()
    url = store_url(settings, args.audit_url)
    store = AuditStore(url)
    keys_dir = args.keys or settings.data_dir / "audit-keys"
    report = verify_store(store, PartnerKeyStore(keys_dir, None).public_keys())
    store.close()
    for problem in report.problems:
        print(problem.line())
    verdict = "intact" if report.ok else f"{len(report.problems)} problems"
    shown = make_url(url).render_as_string(hide_password=True)  # never print a DB password
    derived = ", ".join(f"{table} {n}" for table, n in report.checked.items())
    print(
        f"{shown}: {report.records} records, {report.checkpoints} signed checkpoints; "
        f"derived rows checked against them: {derived}: {verdict}"
    )
    if report.unsigned:
        print(
            f"attention: the last {report.unsigned} records are not covered by a signed "
            "checkpoint (written without the audit key, or checkpoints removed)"
        )
    if report.conflicts:
        # Not damage to the store: records that say something else under a stored id.
        print(
            f"attention: {report.conflicts} decision conflicts recorded "
            "(hub audit conflicts lists them)"
        )
    return 0 if report.ok else 1


def handle_conflicts(args: argparse.Namespace) -> int:
    from hub.audit.store import AuditStore
    from hub.config import load_settings

    store = AuditStore(store_url(load_settings(), args.audit_url))
    try:
        conflicts = store.conflicts()
        reused = store.events_with_several_contents()
    finally:
        store.close()
    for c in conflicts:
        print(
            f"conflict {c['conflict_id']}: decision {c['decision_id']} (event {c['event_id']} "
            f"from {c['provider']} for {c['recipient']}) recorded again at {c['at']} with "
            f"other {', '.join(c['differs'])}"
        )
    for e in reused:
        print(
            f"event {e['event_id']} from {e['provider']}: decided with {e['contents']} "
            "different contents (an event id reused: see the event-id-reused dead letters)"
        )
    print(f"{len(conflicts)} conflicts, {len(reused)} events decided with several contents")
    return 0


def handle_export(args: argparse.Namespace) -> int:
    if args.end < args.start:
        raise ConfigError(f"--to {args.end} is before --from {args.start}")
    from hub.audit.export import export_archive
    from hub.audit.store import AuditStore
    from hub.config import load_settings

    settings = load_settings()
    store = AuditStore(store_url(settings, args.audit_url))
    try:
        signer = audit_keys(settings.data_dir).dev_signing_key(AUDIT_SIGNER)
        summary = export_archive(store, args.start, args.end, args.output, signer)
    finally:
        store.close()
    records = ", ".join(f"{k} {v}" for k, v in summary.counts.items())
    print(f"wrote {summary.path}: {records}; signed by {signer.key_id}")
    return 0


def handle_verify_export(args: argparse.Namespace) -> int:
    from hub.audit.export import load_public_key, verify_archive
    from hub.config import load_settings

    key_path = args.public_key or (
        load_settings().data_dir / "audit-keys" / f"{AUDIT_SIGNER}.dev1.pub"
    )
    try:
        public = load_public_key(key_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read public key {key_path}: {exc}") from exc
    report = verify_archive(args.archive, public)
    for problem in report.problems:
        print(problem)
    records = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
    verdict = "intact" if report.ok else f"{len(report.problems)} problems"
    print(f"{args.archive}: {records}: {verdict}")
    return 0 if report.ok else 1

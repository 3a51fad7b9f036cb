"""``hub schemas check`` (schema CI) and ``hub schemas docs`` (the partner catalogue page)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the catalogue (fastavro) loads when a command runs
    from hub.catalogue.check import Finding


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "schemas", help="check or document the event schemas in schemas/avro"
    )
    sub = p.add_subparsers(dest="schemas_command", required=True)
    check = sub.add_parser(
        "check",
        help="fail on missing docs, untagged personal fields, or changes incompatible with --base",
    )
    check.add_argument(
        "--base",
        default="HEAD",
        help="git revision to check compatibility against (default HEAD, i.e. uncommitted "
        "changes; in CI use the target branch, e.g. origin/main)",
    )
    check.add_argument(
        "--repo",
        type=Path,
        default=None,
        help="repository root holding schemas/avro (default: the checkout the hub runs from)",
    )
    check.set_defaults(handler=handle_check)
    docs = sub.add_parser("docs", help="regenerate docs/partners/catalogue.md from the schemas")
    docs.add_argument("out", nargs="?", type=Path, default=None, help="write here instead")
    docs.set_defaults(handler=handle_docs)
    generated = sub.add_parser(
        "standalone",
        help="regenerate schemas/avro/standalone/: each event type with shared types inlined",
    )
    generated.set_defaults(handler=handle_standalone)


def handle_check(args: argparse.Namespace) -> int:
    from hub.catalogue.check import run_check
    from hub.config import load_settings, project_root

    if args.repo is not None:
        repo, schemas_dir = args.repo, args.repo / "schemas" / "avro"
    else:
        repo, schemas_dir = project_root(), load_settings().schemas_dir
    report = run_check(repo, args.base, schemas_dir)
    report.findings += standalone_findings(repo, schemas_dir)
    for finding in report.findings:
        print(finding)
    for note in report.notes:
        print(f"hub schemas check: {note}", file=sys.stderr)
    if report.findings:
        print(
            f"hub schemas check: {len(report.findings)} problem(s); fix them and run again",
            file=sys.stderr,
        )
        return 1
    new = report.event_types - report.compared
    compared = (
        f"; compatible with {args.base} ({report.compared} compared, {new} new)"
        if not report.notes
        else ""
    )
    print(
        f"hub schemas check: {report.event_types} event types documented and tagged{compared}",
        file=sys.stderr,
    )
    return 0


def handle_standalone(_args: argparse.Namespace) -> int:
    from hub.catalogue.schemas import load_catalogue
    from hub.catalogue.standalone import STANDALONE_DIR, write_standalone
    from hub.config import load_settings

    schemas_dir = load_settings().schemas_dir
    for path in write_standalone(load_catalogue(schemas_dir), schemas_dir / STANDALONE_DIR):
        print(path)
    return 0


def standalone_findings(repo: Path, schemas_dir: Path) -> list[Finding]:
    """What partners copy must be what the hub decodes with: the generated standalone files
    match the catalogue (a schema changed without regenerating them fails here)."""
    from hub.catalogue.check import Finding
    from hub.catalogue.schemas import load_catalogue
    from hub.catalogue.standalone import STANDALONE_DIR, drift
    from hub.errors import ConfigError

    try:
        catalogue = load_catalogue(schemas_dir)
    except ConfigError:
        return []  # run_check has reported why it does not load
    folder = schemas_dir / STANDALONE_DIR
    shown = folder.relative_to(repo) if folder.is_relative_to(repo) else folder
    return [
        Finding(f"{shown}/{name}", "<file>", f"{problem}: regenerate with `hub schemas standalone`")
        for name, problem in drift(catalogue, folder)
    ]


def handle_docs(args: argparse.Namespace) -> int:
    from hub.catalogue import reference

    return reference.main([str(args.out)] if args.out is not None else [])

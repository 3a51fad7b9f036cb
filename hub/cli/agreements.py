"""``hub agreements``: the register of agreements, their lint, and the JSON Schema for editors."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Both register their arguments with argparse alone; what they run on loads when they run.
from hub.cli import agreements_whatif, redact_check

if TYPE_CHECKING:
    from hub.agreements.models import Agreement

SCHEMA_PATH = Path("partnership") / "agreement.schema.json"


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "agreements", help="list, lint and describe information sharing agreements"
    )
    sub = p.add_subparsers(dest="agreements_command", required=True)
    lint = sub.add_parser("lint", help="check every agreement; exit 1 on errors")
    lint.add_argument("--strict", action="store_true", help="fail on warnings too")
    lint.add_argument(
        "--now",
        type=datetime.fromisoformat,
        default=None,
        help="lint as at this time (ISO 8601), default now",
    )
    lint.set_defaults(handler=handle_lint)
    listing = sub.add_parser("list", help="the register: every version with its state")
    listing.add_argument("--now", type=datetime.fromisoformat, default=None)
    listing.set_defaults(handler=handle_list)
    schema = sub.add_parser("schema", help="print the JSON Schema of agreement files")
    schema.set_defaults(handler=handle_schema)
    reg = sub.add_parser("register", help="print the register of agreements as Markdown")
    reg.set_defaults(handler=handle_register)
    redact_check.add_parser(sub)
    agreements_whatif.add_parser(sub)  # issue 17: the console's what-if, from the shell


def json_schema() -> str:
    from hub.agreements.models import Agreement

    return json.dumps(Agreement.model_json_schema(), indent=2, sort_keys=True) + "\n"


def _now(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _agreements() -> tuple[Sequence[Agreement], Path]:
    from hub.agreements.loader import load_agreements
    from hub.config import load_settings

    settings = load_settings()
    return load_agreements(settings.partnership_dir / "agreements"), settings.partnership_dir


def handle_lint(args: argparse.Namespace) -> int:
    from hub.agreements.lint import Linter, Severity
    from hub.agreements.loader import load_agreements
    from hub.agreements.partnership import load_partnership
    from hub.catalogue.schemas import load_catalogue
    from hub.config import load_settings
    from hub.demo.samples import sample_events

    settings = load_settings()
    agreements = load_agreements(settings.partnership_dir / "agreements")
    linter = Linter(
        load_catalogue(settings.schemas_dir),
        load_partnership(settings.partnership_dir),
        sample_events,
        _now(args.now),
    )
    findings = linter.lint(agreements)
    for finding in findings:
        print(finding.line())
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warnings = len(findings) - errors
    print(f"{len(agreements)} agreement versions checked: {errors} errors, {warnings} warnings")
    return 1 if errors or (args.strict and warnings) else 0


def list_lines(agreements: Sequence[Agreement], now: datetime) -> list[str]:
    """The register today: every version with its state; ``governs`` marks the version the
    engine applies (hub.agreements.lifecycle, the rule the console and lint use too)."""
    from hub.agreements import lifecycle

    lines = []
    for agreement_id, versions in lifecycle.by_id(agreements).items():
        gov = lifecycle.pick(versions, now)
        for a in versions:
            mark = "governs" if gov is not None and a.version == gov.version else "-"
            window = f"{a.effective_from}..{a.effective_to or ''}"
            lines.append(
                f"{a.ref:<34} {mark:<8} {lifecycle.state_label(a, now):<18} {window:<24} "
                f"review {a.review_date}  {', '.join(a.providers)} -> {', '.join(a.recipients)}"
            )
        if gov is None:
            lines.append(f"{agreement_id:<34} nothing governs today: nothing is shared under it")
    return lines


def handle_list(args: argparse.Namespace) -> int:
    agreements, _ = _agreements()
    for line in list_lines(agreements, _now(args.now)):
        print(line)
    return 0


def handle_schema(_args: argparse.Namespace) -> int:
    sys.stdout.write(json_schema())
    return 0


def handle_register(_args: argparse.Namespace) -> int:
    from hub.agreements.register import render_register

    agreements, _ = _agreements()
    sys.stdout.write(render_register(agreements))
    return 0

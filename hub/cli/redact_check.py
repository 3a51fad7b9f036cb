"""``hub agreements redact-check AGREEMENT FIELD``: what the recipient would receive of a text.

An IG officer pastes a narrative on standard input and sees exactly what the agreement's
recipient would get for that field: the redacted text (on standard output), or that the
field is kept as is, tokenised, generalised or not sent (on standard error, with the clause).

    echo "his boss Quentin Canarybrook keeps his passport" |
        hub agreements redact-check police-msn-nrm account
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the engine's modules load when the command runs, not at every `hub`
    from hub.agreements.models import Agreement
    from hub.policy.plan import FieldPlan


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "redact-check",
        help="read text on stdin, print what AGREEMENT's recipient would receive of FIELD",
    )
    p.add_argument("agreement", help="agreement id (newest version) or id@vN")
    p.add_argument("field", help="field path in the event, e.g. account or narrative")
    p.add_argument(
        "--known",
        action="append",
        default=[],
        metavar="VALUE",
        help="a value the event itself holds (the subject's name, date of birth...); "
        "the processor removes these wherever they appear. Repeatable.",
    )
    p.set_defaults(handler=handle)


def pick(agreements: Sequence[Agreement], ref: str) -> Agreement | None:
    """``id@vN`` exactly, or the newest version of ``id``."""
    if "@v" in ref:
        return next((a for a in agreements if a.ref == ref), None)
    versions = [a for a in agreements if a.id == ref]
    return max(versions, key=lambda a: a.version) if versions else None


def find_field(agreement: Agreement, field: str) -> tuple[FieldPlan | None, list[str]]:
    """The plan of ``field`` in any of the agreement's event types; the paths it knows."""
    from hub.catalogue.schemas import load_catalogue
    from hub.config import load_settings
    from hub.policy.plan import compile_plan

    catalogue = load_catalogue(load_settings().schemas_dir)
    known: list[str] = []
    for slug in agreement.event_types:
        event_type = catalogue.get(slug)
        if event_type is None:
            continue
        for p in compile_plan(agreement, event_type).every_field():
            if field in (p.field.path, p.out_name):
                return p, known
        known.extend(f.path for f in event_type.walk() if not f.is_record)
    return None, known


def handle(args: argparse.Namespace) -> int:
    from hub.agreements.loader import load_agreements
    from hub.config import load_settings

    settings = load_settings()
    agreement = pick(load_agreements(settings.partnership_dir / "agreements"), args.agreement)
    if agreement is None:
        print(f"no agreement '{args.agreement}': see `hub agreements list`", file=sys.stderr)
        return 2
    plan, paths = find_field(agreement, args.field)
    who = f"{', '.join(agreement.recipients)} under {agreement.ref}"
    if plan is None:
        if args.field in paths:
            print(f"{who}: field '{args.field}' is not sent (dropped)", file=sys.stderr)
            return 0
        print(
            f"no field '{args.field}' in {', '.join(agreement.event_types)}; "
            f"fields: {', '.join(sorted(set(paths)))}",
            file=sys.stderr,
        )
        return 2
    text = sys.stdin.read()
    clause = f"clause '{plan.clause_id}'"
    if plan.treatment == "redact":
        from hub.privacy.redact import redact

        print(f"{who}: field '{args.field}' is redacted ({clause}):", file=sys.stderr)
        sys.stdout.write(redact(text, args.known) or "")
        return 0
    if plan.treatment == "keep":
        print(f"{who}: field '{args.field}' is KEPT AS IS ({clause}):", file=sys.stderr)
        sys.stdout.write(text)
        return 0
    what = plan.generalise_to or plan.domain or ""
    print(
        f"{who}: field '{args.field}' is {plan.treatment} {what} ({clause}); the text is not sent",
        file=sys.stderr,
    )
    return 0

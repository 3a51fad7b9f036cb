"""``hub agreements whatif DRAFT.yaml``: re-decide recorded events under a draft agreement.

The console's what-if (hub/console/whatif.py), from the command line: the same reading (the
partner topics on the broker, or a file of recorded topic bytes, decoded as the processor
decoded them), the same engine (the draft as if approved and in force, at each event's
decision time) and the same comparison per recipient. It prints a progress line with the
share of the recorded events read, then what would change.

The baseline is the audit (what the hub actually decided), or with ``--baseline
agreements`` what the agreements on disk decide (for a topic file from elsewhere, with no
audit beside it). Exit codes: 0 done; 1 the broker or registry did not answer; 2 bad input,
with a message naming the file or option and what to fix.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from hub.cli.audit import add_audit_url
from hub.errors import HubError, Retryable

if TYPE_CHECKING:
    from hub.agreements.models import Agreement
    from hub.config import Settings
    from hub.console.whatif import EventSource, Progress, Recorded, WhatIfResult

FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)  # no period: the whole history


class BadInput(HubError):
    """What the command was given cannot be used; the message says what to fix."""


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "whatif",
        help="re-decide recorded events under a draft agreement file and say what would change",
    )
    p.add_argument("draft", type=Path, help="the draft agreement version (a YAML file)")
    p.add_argument("--from", dest="since", default=None, help="events that happened from (day)")
    p.add_argument("--to", dest="until", default=None, help="... to this day (inclusive)")
    p.add_argument("--bootstrap", default=None, help="broker (default: HUB_BOOTSTRAP_SERVERS)")
    p.add_argument("--registry-url", default=None, help="schema registry (default: settings)")
    p.add_argument(
        "--topic-file",
        type=Path,
        default=None,
        help="read recorded topic bytes from this file instead of the broker (with --topic)",
    )
    p.add_argument("--topic", default=None, help="the partner topic the --topic-file holds")
    p.add_argument(
        "--baseline",
        choices=("audit", "agreements"),
        default=None,
        help="compare with the audit's decisions (default) or with what the agreements on "
        "disk decide (default with --topic-file)",
    )
    add_audit_url(p)
    p.add_argument("--limit", type=int, default=None, help="stop after this many events")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(handler=handle)


def _day(value: str | None, option: str, default: date) -> date:
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{option} {value!r} is not a day: give YYYY-MM-DD") from None


def _draft(path: Path) -> Agreement:
    from hub.agreements.loader import load_agreement

    if not path.is_file():
        raise BadInput(f"{path}: no such file: give the draft agreement's YAML file")
    # load_agreement's errors name the file and the field to fix (AgreementError).
    return load_agreement(path)


def _check_covers(draft: Agreement, settings: Settings, path: Path) -> None:
    """A draft naming a partner or event type the hub does not know would read nothing and
    report "no change": refuse it instead."""
    from hub.agreements.lifecycle import HUB_ANALYTICS
    from hub.agreements.partnership import load_partnership
    from hub.catalogue.schemas import load_catalogue

    catalogue = load_catalogue(settings.schemas_dir)
    for slug in draft.event_types:
        if catalogue.get(slug) is None:
            raise BadInput(f"{path}: event type {slug!r} is not in the catalogue: fix event_types")
    known = {p.id for p in load_partnership(settings.partnership_dir).partners} | {HUB_ANALYTICS}
    for provider in draft.providers:
        if provider not in known:
            raise BadInput(f"{path}: provider {provider!r} is not a partner: fix providers")


def _source(args: argparse.Namespace, settings: Settings) -> EventSource:
    from hub.catalogue.schemas import load_catalogue
    from hub.catalogue.topics import parse_partner_topic
    from hub.console.whatif import KafkaEventSource, TopicFileSource

    registry = args.registry_url or settings.schema_registry_url
    if not registry:
        raise BadInput("no schema registry: give --registry-url or set HUB_SCHEMA_REGISTRY_URL")
    catalogue = load_catalogue(settings.schemas_dir)
    if args.topic_file is not None:
        if not args.topic_file.is_file():
            raise BadInput(f"{args.topic_file}: no such file: give the recorded topic file")
        if args.topic is None or parse_partner_topic(args.topic) is None:
            raise BadInput(
                f"{args.topic_file}: say which partner topic it holds: --topic "
                "partner.<partner>.<event type>.v<N>"
            )
        return TopicFileSource(args.topic_file, args.topic, registry, catalogue)
    if args.topic is not None:
        raise BadInput("--topic names the topic of a --topic-file: give the file too")
    bootstrap = args.bootstrap or settings.bootstrap_servers
    if not bootstrap:
        raise BadInput("no broker: give --bootstrap or set HUB_BOOTSTRAP_SERVERS")
    if args.bootstrap is None:  # the configured broker, with its security settings
        from hub.kafka import KafkaConnection

        return KafkaEventSource(KafkaConnection.from_settings(settings), registry, catalogue)
    return KafkaEventSource(bootstrap, registry, catalogue)


def _recorded(args: argparse.Namespace, settings: Settings) -> Recorded | None:
    from hub.audit.queries import events_decided
    from hub.audit.store import AuditStore
    from hub.cli.audit import store_url

    baseline = args.baseline or ("agreements" if args.topic_file is not None else "audit")
    if baseline == "agreements":
        return None
    store = AuditStore(store_url(settings, args.audit_url))

    def recorded(ids: Sequence[str]) -> Any:
        with store.engine.connect() as conn:
            return events_decided(conn, ids)

    return recorded


class ProgressLine:
    """One line, rewritten in place on a terminal; elsewhere (a log, CI) a line each time
    another tenth of the input has been read, and at the end."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.tty = out.isatty()
        self._shown = -1.0
        self._at = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if self.tty:
            if now - self._at >= 0.2 or p.percent == 100.0:
                self.out.write(f"\rwhat-if: {p.line()}   ")
                self._at = now
        else:
            step = (p.percent or 0.0) // 10
            if step > self._shown or (p.percent is None and now - self._at >= 5):
                self.out.write(f"what-if: {p.line()}\n")
                self._shown, self._at = step, now
        self.out.flush()

    def end(self) -> None:
        if self.tty:
            self.out.write("\n")


def handle(args: argparse.Namespace) -> int:
    from hub.agreements.loader import load_agreements
    from hub.config import load_settings
    from hub.console.whatif import MAX_EVENTS, run_whatif

    settings = load_settings()
    since = _day(args.since, "--from", FIRST_DAY)
    until = _day(args.until, "--to", LAST_DAY)
    if until < since:
        raise BadInput(f"--to {until} is before --from {since}: give --from first")
    if args.limit is not None and args.limit < 1:
        raise BadInput(f"--limit {args.limit}: give a number of events, 1 or more")
    draft = _draft(args.draft)
    _check_covers(draft, settings, args.draft)
    agreements = load_agreements(settings.partnership_dir / "agreements")
    source = _source(args, settings)
    recorded = _recorded(args, settings)
    line = ProgressLine(sys.stderr)
    started = time.monotonic()
    try:
        result = run_whatif(
            draft, agreements, source, recorded, since, until,
            limit=args.limit or MAX_EVENTS, progress=line,
        )  # fmt: skip
    except Retryable as exc:
        line.end()
        print(f"hub: error: could not read the recorded events: {exc}", file=sys.stderr)
        return 1
    line.end()
    seconds = time.monotonic() - started
    if args.json:
        print(json.dumps(as_dict(result) | {"seconds": round(seconds, 2)}, sort_keys=True))
    else:
        for text in summary_lines(result, recorded is None):
            print(text)
        print(f"({result.events_read + result.outside:,} events read in {seconds:.1f}s)")
    return 0


def as_dict(result: WhatIfResult) -> dict[str, Any]:
    """The result as JSON: counts, and per recipient the changes and fields."""
    return {
        "draft": result.draft,
        "from": str(result.since),
        "to": str(result.until),
        "events_read": result.events_read,
        "compared": result.compared,
        "not_in_audit": result.not_in_audit,
        "outside": result.outside,
        "truncated": result.truncated,
        "changed": result.changed,
        "recipients": {
            r: {
                "before": d.before,
                "after": d.after,
                "newly_shared": d.added,
                "newly_withheld": d.removed,
                "fields_added": sorted(d.fields_added),
                "fields_removed": sorted(d.fields_removed),
                "fields_changed": sorted(d.fields_changed),
            }
            for r, d in sorted(result.recipients.items())
        },
        "examples": [
            {
                "recipient": e.recipient,
                "change": e.change,
                "event_id": e.event_id,
                "before": e.before,
                "after": e.after,
                "decision_id": e.decision_id,
            }
            for e in result.examples
        ],
    }


def _listed(paths: set[str]) -> str:
    return ", ".join(sorted(paths)) or "-"


def summary_lines(result: WhatIfResult, against_agreements: bool = False) -> list[str]:
    """What the console's what-if page says, as text."""
    recorded = "decided by the agreements on disk" if against_agreements else "recorded"
    lines = [
        f"what-if {result.draft}: events that happened {result.since} to {result.until}",
        f"events in the period {result.events_read:,}; with a {recorded} decision "
        f"{result.compared:,}; never decided {result.not_in_audit:,}; read but outside the "
        f"period {result.outside:,}",
    ]
    if result.truncated:
        lines.append("STOPPED AT THE LIMIT: the figures are incomplete; narrow the period")
    if result.compared == 0:
        lines.append("nothing to compare")
        return lines
    verdict = "would share differently" if result.changed else "would share exactly as"
    lines.append(f"{result.draft} {verdict} {recorded} for these {result.compared:,} events")
    cells: Callable[[Any], list[str]] = lambda d: [  # noqa: E731
        str(d.before), str(d.after), f"+{d.added}", f"-{d.removed}",
        _listed(d.fields_added), _listed(d.fields_removed), _listed(d.fields_changed),
    ]  # fmt: skip
    head = ["recipient", "shared", "draft", "newly shared", "newly withheld"]
    head += ["fields added", "fields removed", "treatment changed"]
    rows = [head] + [[r, *cells(d)] for r, d in sorted(result.recipients.items())]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        lines.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                      enumerate(zip(row[:5], widths, strict=True)))
            + "  " + " | ".join(row[5:])
        )  # fmt: skip
    for e in result.examples:
        lines.append(f"  e.g. {e.recipient} {e.change}: {e.event_id}: {e.before} -> {e.after}")
    return lines

"""``hub analytics``: run the linkage alerts and VRP aggregates worker, and inspect them.

``run`` starts the faust worker against ``HUB_BOOTSTRAP_SERVERS`` and
``HUB_SCHEMA_REGISTRY_URL`` (settings ``HUB_ANALYTICS_*``) until Ctrl-C or SIGTERM;
``rules`` lists the alert rules; ``lint`` checks them against the catalogue, partners and
agreements (CI runs it beside ``hub agreements lint``); ``schema`` prints the JSON Schema of
rule files; ``feed`` prints the VRP feed (suppressed tables) as it stands.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "analytics", help="linkage alerts across partners and the VRP's violence aggregates"
    )
    sub = p.add_subparsers(dest="analytics_command", required=True)
    run = sub.add_parser("run", help="run the analytics worker (faust) until Ctrl-C")
    run.add_argument("--data-dir", type=Path, default=None, help="local state folder")
    run.add_argument("--status", type=Path, default=None, help="write live counts here (JSON)")
    run.set_defaults(handler=handle_run)
    rules = sub.add_parser("rules", help="list the alert rules and whom they notify")
    rules.add_argument("--json", action="store_true", help="as JSON")
    rules.set_defaults(handler=handle_rules)
    lint = sub.add_parser("lint", help="check the alert rules; non-zero exit on errors")
    lint.add_argument("--strict", action="store_true", help="warnings fail too")
    lint.set_defaults(handler=handle_lint)
    schema = sub.add_parser("schema", help="print the JSON Schema of alert rule files")
    schema.set_defaults(handler=handle_schema)
    feed = sub.add_parser("feed", help="print the VRP feed files (suppressed weekly tables)")
    feed.add_argument("--data-dir", type=Path, default=None, help="local state folder")
    feed.add_argument("--csv", action="store_true", help="CSV instead of JSON")
    feed.set_defaults(handler=handle_feed)


def handle_run(args: argparse.Namespace) -> int:
    """The faust worker in a child process (hub/cli/analytics_worker.py): faust takes over
    signal handling and logging in its process, so this one keeps SIGTERM and the grace
    period (hub/lifecycle.py): the worker gets SIGTERM, and SIGKILL if it has not stopped
    when the grace period is over, whatever the broker's state."""
    import subprocess

    from hub import lifecycle

    argv = ["--status", str(args.status)] if args.status else []
    if args.data_dir is not None:
        argv += ["--data-dir", str(args.data_dir)]
    stop = lifecycle.install("hub analytics run")
    shutdown = lifecycle.current()
    grace = shutdown.grace if shutdown is not None else lifecycle.DEFAULT_GRACE
    child = subprocess.Popen([sys.executable, "-m", "hub.cli.analytics_worker", *argv])
    while child.poll() is None and not stop.wait(0.2):
        pass
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(max(0.5, grace - 1.5))  # time left for this process to exit
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)
            print("hub: analytics worker did not stop in time: killed", file=sys.stderr)
            return lifecycle.EXIT_OVERDUE
    return 0 if stop.is_set() else int(child.returncode or 0)


def _rules() -> list[Any]:
    from hub.analytics.config import AnalyticsConfig
    from hub.analytics.rules import load_rules
    from hub.config import load_settings

    return load_rules(AnalyticsConfig().rules(load_settings()), active_only=False)


def handle_rules(args: argparse.Namespace) -> int:
    rules = _rules()
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in rules], indent=2))
        return 0
    for r in rules:
        notify = ", ".join(f"{n.recipient} (under {n.agreement})" for n in r.notify)
        print(f"{r.ref} [{r.status}] {r.title}")
        print(
            f"    window {r.window_days} days, {r.needed}+ events from "
            f"{r.min_agencies}+ partner(s); notifies {notify}"
        )
    return 0


def handle_lint(args: argparse.Namespace) -> int:
    from hub.agreements.lint import Severity
    from hub.agreements.loader import load_agreements
    from hub.agreements.partnership import load_partnership
    from hub.analytics.lint import lint_rules
    from hub.catalogue.schemas import load_catalogue
    from hub.config import load_settings

    settings = load_settings()
    rules = _rules()
    findings = lint_rules(
        rules,
        load_catalogue(settings.schemas_dir),
        load_partnership(settings.partnership_dir),
        load_agreements(settings.partnership_dir / "agreements"),
        datetime.now(UTC),
    )
    for f in findings:
        print(f.line())
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warnings = len(findings) - errors
    print(
        f"{len(rules)} alert rules checked: {errors} errors, {warnings} warnings", file=sys.stderr
    )
    return 1 if errors or (args.strict and warnings) else 0


def handle_schema(_args: argparse.Namespace) -> int:
    from hub.analytics.rules import schema_text

    sys.stdout.write(schema_text())
    return 0


def handle_feed(args: argparse.Namespace) -> int:
    from hub.analytics.config import AnalyticsConfig
    from hub.config import load_settings

    folder = AnalyticsConfig().feed(load_settings(data_dir=args.data_dir))
    files = sorted(folder.glob("*.csv" if args.csv else "*.json")) if folder.is_dir() else []
    if not files:
        print(f"no VRP feed in {folder} yet: run `hub analytics run`", file=sys.stderr)
        return 1
    for path in files:
        sys.stdout.write(path.read_text())
    return 0

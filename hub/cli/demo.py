"""``hub demo``: run the end-to-end slice and print a summary (a table, or JSON)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the demo (and rich) load when the command runs: every `hub` command
    # start paid 0.4 s for them, a restarted service included
    from rich.console import Console

    from hub.demo import DemoRuntime, DemoSummary

_STAGES = {
    "publish": "partner connectors publishing",
    "process": "hub processor deciding",
    "deliver": "sinks delivering, with receipts",
    "analytics": "analytics: alerts and VRP feed",
}


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "demo",
        help="run the synthetic partnership through connectors, processor, sinks and the audit "
        "on embedded defaults, then serve the IG console",
    )
    p.add_argument(
        "--events", type=int, default=600, help="synthetic partnership events (default 600)"
    )
    p.add_argument("--seed", type=int, default=7, help="seed of the synthetic feed")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--data-dir", type=Path, default=None, help="local state folder (default .hub)")
    p.add_argument("--timeout", type=float, default=180.0, help="give up after this many seconds")
    p.add_argument(
        "--no-console",
        action="store_true",
        help="exit after the run instead of serving the IG console (always so with --json)",
    )
    p.add_argument("--console-port", type=int, default=8765, help="IG console port (8765)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from hub.config import load_settings
    from hub.demo import DemoOptions, run_demo

    settings = load_settings(data_dir=args.data_dir)
    options = DemoOptions(events=args.events, seed=args.seed, timeout=args.timeout)
    console = Console(stderr=False)
    if not args.json and not args.no_console:
        options = replace(options, hold=lambda rt: _serve_console(console, rt, args.console_port))
    if args.json:
        summary = run_demo(settings, options)
        print(json.dumps(summary.as_dict(), sort_keys=True))
        return 0
    with Progress(
        TextColumn("{task.description:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            # A total of 0 means not known yet (sources still publishing): show no bound.
            if stage not in tasks:
                tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        summary = run_demo(settings, options, progress)
    if args.no_console:
        _print_table(console, summary)
    return 0


def _serve_console(console: Console, rt: DemoRuntime, port: int) -> None:
    """Print the summary, then serve the IG console on this run's audit until Ctrl-C."""
    from hub.console import create_demo_officer, start_console

    _print_table(console, rt.summary)
    store_url = rt.settings.resolved_audit_url()
    user, password = create_demo_officer(store_url)
    try:
        handle = start_console(
            rt.settings,
            store_url,
            port=port,
            bootstrap=rt.bootstrap,
            registry_url=rt.registry_url,
        )
    except OSError:  # the port is taken: any free one will do
        handle = start_console(
            rt.settings, store_url, bootstrap=rt.bootstrap, registry_url=rt.registry_url
        )
    console.print(
        f"\nIG console: {handle.url}  (user {user}, password {password}; this run only)",
        soft_wrap=True,
    )
    console.print("press Ctrl-C to stop the console, the broker and the registry")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()


def _print_table(console: Console, s: DemoSummary) -> None:
    from rich.table import Table

    table = Table(title="Partner data-sharing hub: demo run", show_lines=False)
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_row("events published by partner connectors", str(s.valid_events))
    for partner, n in sorted(s.published_by_partner.items()):
        table.add_row(f"  {partner}", str(n))
    rejects = ", ".join(f"{k} {v}" for k, v in s.connector_rejects.items())
    table.add_row("inputs refused by connectors", rejects or "0")
    table.add_row("hostile records sent straight to Kafka", str(s.malformed_sent))
    for recipient, n in s.shared.items():
        table.add_row(
            f"shared with {recipient}", f"{n} (delivered: {s.delivered.get(recipient, 0)})"
        )
    table.add_row("withheld (decision recorded)", str(s.withheld))
    alerts = ", ".join(f"{k} {v}" for k, v in s.alerts.items())
    table.add_row("linkage alerts raised", alerts or "0")
    for recipient, n in s.alerts_shared.items():
        table.add_row(f"  alerts shared with {recipient}", str(n))
    table.add_row("VRP weekly tables (suppressed)", str(s.vrp_tables))
    reasons = ", ".join(f"{k} {v}" for k, v in s.deadletter_reasons.items())
    table.add_row("dead-lettered", f"{s.deadlettered} ({reasons})" if reasons else "0")
    table.add_row("decisions / audit records", f"{s.decisions} / {s.audit_records}")
    table.add_row("delivery receipts in the audit", str(s.receipts))
    table.add_row("audit hash chain and signatures", "intact" if s.audit_intact else "PROBLEMS")
    console.print(table)
    out = s.outputs
    # soft_wrap: paths are copied into other commands, so never break them across lines.
    console.print(f"audit store: {out['audit_db']}", soft_wrap=True)
    console.print(f"recipient systems: {out['run_dir']}/sinks and /exports", soft_wrap=True)
    console.print(f"finished in {s.seconds:.1f}s.")
    sys.stdout.flush()

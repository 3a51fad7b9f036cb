"""``hub connector run|check|digest``: run a partner or recipient connector from its YAML.

``run`` runs until SIGTERM or Ctrl-C, then stops cleanly (checkpoint, receipts, commit).
``check`` validates the configuration, the secrets it names in the environment and the
mapping, and with ``--sample FILE`` maps an export row by row, publishing nothing.
``digest`` turns a web hook token (read from stdin, never an argument: arguments show in
``ps``) into the keyed digest the receiver's configuration stores.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "connector", help="run or check a partner source or recipient sink connector"
    )
    sub = p.add_subparsers(dest="connector_command", required=True)
    run_p = sub.add_parser("run", help="run a connector until SIGTERM or Ctrl-C")
    run_p.add_argument("config", type=Path, help="the connector's YAML configuration")
    run_p.set_defaults(handler=handle_run)
    check_p = sub.add_parser("check", help="validate a configuration and mapping; publish nothing")
    check_p.add_argument("config", type=Path)
    check_p.add_argument("--sample", type=Path, help="an export file to map row by row")
    check_p.add_argument("--json", action="store_true", help="the report as JSON")
    check_p.set_defaults(handler=handle_check)
    digest_p = sub.add_parser(
        "digest", help="the stored digest of a web hook token (token on stdin)"
    )
    digest_p.add_argument(
        "--key-env", required=True, help="environment variable holding the receiver's digest key"
    )
    digest_p.set_defaults(handler=handle_digest)


def handle_run(args: argparse.Namespace) -> int:
    from connectors.base.config import environment, load_config
    from connectors.base.runtime import run

    config = load_config(args.config)
    # Said on stdout (and logged at INFO): without it a sink gave no sign it had started.
    kind = "source" if config.source is not None else "sink"
    who = config.partner if config.source is not None else config.recipient
    started = f"connector {config.name} ({kind}, {who}) running; SIGTERM or Ctrl-C stops"
    logging.getLogger("connectors").info(started)
    print(started, flush=True)
    return run(config, environment())


def handle_check(args: argparse.Namespace) -> int:
    from connectors.base.config import environment, load_config
    from connectors.base.runtime import check

    config = load_config(args.config)
    report = check(config, environment(), sample=args.sample)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "problems": report.problems,
                    "notes": report.notes,
                    "rows_ok": report.rows_ok,
                    "rows_rejected": report.rows_rejected,
                    "rows_rejected_count": report.rows_rejected_count,
                },
                indent=2,
            )
        )
    else:
        kind = "source" if config.source is not None else "sink"
        print(f"connector {config.name} ({kind}): {'OK' if report.ok else 'NOT OK'}")
        for problem in report.problems:
            print(f"  problem: {problem}")
        for note in report.notes:
            print(f"  note: {note}")
        if args.sample is not None:
            print(f"  sample: {report.rows_ok} rows map, {report.rows_rejected_count} rejected")
            for r in report.rows_rejected:
                print(f"    row {r['row']} (line {r['line']}): {r['code']}: {r['reason']}")
            if report.rows_rejected_count > len(report.rows_rejected):
                print(f"    ... the first {len(report.rows_rejected)} shown")
    return 0 if report.ok and not report.rows_rejected_count else 1


def handle_digest(args: argparse.Namespace) -> int:
    from connectors.base.config import environment, require_env
    from connectors.sources.webhook import token_digest

    key = require_env(environment(), args.key_env).get_secret_value().encode()
    token = sys.stdin.readline().strip()
    if not token:
        print("hub: error: no token on stdin", file=sys.stderr)
        return 2
    print(token_digest(key, token))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m hub.cli.connector run CONFIG.yaml``: the same commands without ``hub``."""
    import logging

    from hub.errors import HubError

    parser = argparse.ArgumentParser(prog="hub connector")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["connector", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        code: int = args.handler(args)
        return code
    except HubError as exc:
        print(f"hub: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

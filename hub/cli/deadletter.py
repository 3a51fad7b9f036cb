"""``hub deadletter list|replay``: what partners sent that the hub could not process."""

from __future__ import annotations

import argparse
from typing import Any

from hub.audit.store import AuditStore
from hub.config import load_settings
from hub.errors import ConfigError


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "deadletter", help="list dead letters, or replay them after the partner fixed the cause"
    )
    sub = p.add_subparsers(dest="deadletter_command", required=True)
    listing = sub.add_parser("list", help="dead letters recorded in the audit store")
    listing.add_argument("--partner")
    listing.add_argument("--reason", help="reason code, e.g. unknown-schema")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=handle_list)
    replay = sub.add_parser("replay", help="re-publish dead letters to their original topics")
    replay.add_argument("--partner", required=True, help="only this partner's records")
    replay.add_argument("--reason", help="only this reason code")
    replay.set_defaults(handler=handle_replay)


def handle_list(args: argparse.Namespace) -> int:
    settings = load_settings()
    store = AuditStore(settings.resolved_audit_url())
    rows = [
        r
        for r in store.all_dead_letters()
        if (not args.partner or r["partner"] == args.partner)
        and (not args.reason or r["reason_code"] == args.reason)
    ]
    for r in sorted(rows, key=lambda r: r["at"], reverse=True)[: args.limit]:
        print(
            f"{r['at']}  {r['partner'] or '?':<18} {r['topic']}:{r['partition']}:{r['offset']}  "
            f"{r['reason_code']}: {r['reason']}" + (f"  (fix: {r['fix']})" if r["fix"] else "")
        )
    print(f"{len(rows)} dead letters")
    store.close()
    return 0


def handle_replay(args: argparse.Namespace) -> int:
    from hub.processor.replay import replay

    settings = load_settings()
    if not settings.bootstrap_servers:
        raise ConfigError("replay needs HUB_BOOTSTRAP_SERVERS")
    done = replay(
        settings.bootstrap_servers,
        lambda d: d.partner == args.partner and (not args.reason or d.reason_code == args.reason),
    )
    for d in done:
        print(f"replayed {d.topic}:{d.partition}:{d.offset} ({d.reason_code})")
    print(f"{len(done)} dead letters replayed to their original topics")
    return 0

"""``hub deadletter list|replay|skip``: what partners sent that the hub could not process,
and the operator's last resort for a record that stops a partition."""

from __future__ import annotations

import argparse
from typing import Any

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
    skip = sub.add_parser(
        "skip",
        help="last resort: dead-letter one record by reference (audited), then commit the "
        "processor group past it; stop the processors first",
    )
    skip.add_argument("--topic", required=True)
    skip.add_argument("--partition", type=int, required=True)
    skip.add_argument("--offset", type=int, required=True)
    skip.add_argument(
        "--operator",
        default=None,
        help="who is skipping it, for the audit (default: the login name)",
    )
    skip.set_defaults(handler=handle_skip)


def handle_list(args: argparse.Namespace) -> int:
    from hub.audit.store import AuditStore
    from hub.config import load_settings

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
    from hub.config import load_settings
    from hub.kafka import KafkaConnection
    from hub.processor.replay import DeadLetter, replay

    settings = load_settings()
    if not settings.bootstrap_servers:
        raise ConfigError("replay needs HUB_BOOTSTRAP_SERVERS")
    by_reference: list[DeadLetter] = []
    done = replay(
        KafkaConnection.from_settings(settings),
        lambda d: d.partner == args.partner and (not args.reason or d.reason_code == args.reason),
        skipped=by_reference,
    )
    for d in done:
        print(f"replayed {d.topic}:{d.partition}:{d.offset} ({d.reason_code})")
    for d in by_reference:
        print(
            f"not replayed {d.topic}:{d.partition}:{d.offset} ({d.reason_code}): held by "
            "reference only; the partner must send it again"
        )
    print(f"{len(done)} dead letters replayed to their original topics")
    # How the end was decided (issue 15): the embedded broker under-reports a queried end.
    print(
        "(read every partition of hub.deadletter.v1 from its start until the client "
        "reported the partition's end, the end the broker's fetch returned; not a queried "
        "high watermark)"
    )
    return 0


def handle_skip(args: argparse.Namespace) -> int:
    import getpass

    from hub.config import load_settings
    from hub.kafka import KafkaConnection
    from hub.processor.build import partner_keys
    from hub.processor.skip import skip

    settings = load_settings()
    if not settings.bootstrap_servers:
        raise ConfigError("hub deadletter skip needs HUB_BOOTSTRAP_SERVERS")
    done = skip(
        KafkaConnection.from_settings(settings),
        group=settings.consumer_group,
        topic=args.topic,
        partition=args.partition,
        offset=args.offset,
        public_keys=partner_keys(settings).public_keys(),
        operator=args.operator or getpass.getuser(),
    )
    r = done.record
    print(f"dead-lettered {r.topic}:{r.partition}:{r.offset} by reference: {r.reason}")
    print(
        f"group {settings.consumer_group} now reads {r.topic}:{r.partition} from offset "
        f"{done.committed}"
    )
    return 0

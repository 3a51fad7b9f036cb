"""``hub console``: the IG console (web), and ``hub console user``: its local accounts.

Passwords come from a prompt, or from ``HUB_CONSOLE_PASSWORD`` for scripted set-ups; never
from an argument, which would land in shell history and process listings. A password on the
common-password list, or containing the account's name, is refused
(``hub.console.passwords``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from hub.cli.audit import add_audit_url
from hub.errors import ConfigError

PASSWORD_ENV = "HUB_CONSOLE_PASSWORD"


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "console", help="the information-governance console (web) and its accounts"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8400, help="port (default 8400)")
    add_audit_url(p)
    p.add_argument(
        "--bootstrap", default=None, help="Kafka bootstrap servers, for the what-if (optional)"
    )
    p.add_argument("--registry-url", default=None, help="schema registry URL, for the what-if")
    p.add_argument(
        "--secure-cookies",
        action="store_true",
        help="always mark cookies Secure (behind a TLS-terminating proxy)",
    )
    p.set_defaults(handler=handle_serve)
    sub = p.add_subparsers(dest="console_command")
    user = sub.add_parser("user", help="manage console accounts")
    users = user.add_subparsers(dest="user_command", required=True)
    add = users.add_parser("add", help="create an account, or reset its password and role")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["ig-officer", "partner-admin", "auditor"])
    add.add_argument("--partner", default=None, help="organisation id, for a partner admin")
    add_audit_url(add)
    add.set_defaults(handler=handle_user_add)
    disable = users.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("name")
    add_audit_url(disable)
    disable.set_defaults(handler=handle_user_disable)
    listing = users.add_parser("list", help="list accounts")
    add_audit_url(listing)
    listing.set_defaults(handler=handle_user_list)


def _engine(audit_url: str | None) -> Any:
    """The store accounts are kept in: the same one ``hub console`` and ``hub audit verify``
    choose (after ``hub demo``, the demo's), said on stderr so nobody adds an account to a
    store the console they use does not read."""
    from sqlalchemy import create_engine, make_url

    from hub.audit.migrate import upgrade
    from hub.cli.audit import store_url
    from hub.config import load_settings

    settings = load_settings()
    url = store_url(settings, audit_url)
    print(f"accounts store: {make_url(url).render_as_string(hide_password=True)}", file=sys.stderr)
    runs = sorted((settings.data_dir / "runs").glob("*/audit.db"))
    demo = f"sqlite:///{runs[-1].resolve()}" if runs else None
    if demo and url != demo and not audit_url:
        print(f"note: the latest demo run's store is {demo}; pass --audit-url to use it",
              file=sys.stderr)  # fmt: skip
    engine = create_engine(url)
    upgrade(engine)
    return engine


def _password() -> str:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ConfigError("the passwords differ")
    return first


def handle_user_add(args: argparse.Namespace) -> int:
    from hub.console.auth import Role, add_user

    engine = _engine(args.audit_url)
    try:
        if args.partner:
            from hub.agreements.partnership import load_partnership
            from hub.config import load_settings

            known = load_partnership(load_settings().partnership_dir)
            if known.partner(args.partner) is None:
                raise ConfigError(f"{args.partner} is not a partner in partners.yaml")
        add_user(engine, args.name, Role(args.role), _password(), args.partner)
    finally:
        engine.dispose()
    print(f"account {args.name} ({args.role}{f', {args.partner}' if args.partner else ''}) saved")
    return 0


def handle_user_disable(args: argparse.Namespace) -> int:
    from hub.console.auth import disable_user

    engine = _engine(args.audit_url)
    try:
        found = disable_user(engine, args.name)
    finally:
        engine.dispose()
    print(f"account {args.name} disabled" if found else f"no account {args.name}")
    return 0 if found else 1


def handle_user_list(args: argparse.Namespace) -> int:
    from hub.console.auth import list_users

    engine = _engine(args.audit_url)
    try:
        for u in list_users(engine):
            state = "disabled" if u["disabled"] else "active"
            print(f"{u['name']}\t{u['role']}\t{u['partner'] or '-'}\t{state}")
    finally:
        engine.dispose()
    return 0


def handle_serve(args: argparse.Namespace) -> int:
    from hub.cli.audit import store_url
    from hub.config import load_settings
    from hub.console.server import console_config, serve_forever

    settings = load_settings()
    config = console_config(
        settings,
        store_url(settings, args.audit_url),
        args.bootstrap or settings.bootstrap_servers,
        args.registry_url or settings.schema_registry_url,
    )
    config.secure_cookies = True if args.secure_cookies else None
    from hub.console.lockout import LockoutPolicy

    # HUB_CONSOLE_LOCKOUT_* (docs/operators/console.md); read now, at start, not at import.
    config.lockout = LockoutPolicy.from_settings()
    print(f"IG console on http://{args.host}:{args.port} (Ctrl-C stops)", flush=True)
    serve_forever(config, args.host, args.port)
    return 0

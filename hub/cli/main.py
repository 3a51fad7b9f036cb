"""Entry point of the ``hub`` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from hub import __version__
from hub.cli import (
    agreements,
    analytics,
    audit,
    broker,
    connector,
    console,
    deadletter,
    demo,
    deploy,
    partner,
    process,
    registry,
    sandbox,
    schemas,
)
from hub.errors import HubError
from hub.telemetry.logs import configure_logging


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hub",
        description="Partner data-sharing hub: agreements as code, every disclosure audited.",
    )
    parser.add_argument("--version", action="version", version=f"hub {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    commands = parser.add_subparsers(dest="command", required=True)
    demo.register(commands)
    agreements.register(commands)
    process.register(commands)
    deadletter.register(commands)
    registry.register(commands)
    schemas.register(commands)
    audit.register(commands)
    deploy.register(commands)
    console.register(commands)
    connector.register(commands)
    analytics.register(commands)
    sandbox.register(commands)  # issue 19: sandbox, partner tools, the broker alone
    partner.register(commands)
    broker.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # The log format is read before the settings (which may themselves be wrong).
    configure_logging(
        logging.INFO if args.verbose else logging.ERROR,
        os.environ.get("HUB_LOG_FORMAT", "text").lower(),
    )
    try:
        code: int = args.handler(args)
        return code
    except HubError as exc:
        print(f"hub: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hub: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

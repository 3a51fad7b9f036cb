"""``hub process``: run the hub processor as a service until SIGTERM or Ctrl-C.

It connects to the broker and schema registry named in the settings
(``HUB_BOOTSTRAP_SERVERS``, ``HUB_SCHEMA_REGISTRY_URL``). On SIGTERM it finishes the batch in
flight, commits, leaves the consumer group and exits 0, so a rolling restart loses nothing.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "process", help="run the hub processor against the configured broker and registry"
    )
    p.add_argument("--instance", default=None, help="name of this instance in the audit")
    p.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus /metrics on this port"
    )
    p.add_argument(
        "--ingest",
        action="store_true",
        help="also run the audit ingester in this process (single-machine deployments; "
        "otherwise run `hub audit ingest` as its own service)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    # The service and what it runs on load now, not when any `hub` command line is parsed.
    from hub.cli.process_service import run

    return run(args)

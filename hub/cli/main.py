"""Entry point of the ``hub`` command."""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import logging
import os
import signal
import sys
import threading
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

# Each command module registers its arguments with argparse alone and imports what it runs
# on when it runs: every `hub` process used to import every command's libraries (the
# console's web stack, the audit store's database layer, faust...) before parsing, 1.5 s
# or more, and a restarted `hub process` paid it before consuming again.
# tests/cli/test_startup.py holds parsing to the standard library and hub.cli.


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


# Long-running commands: SIGTERM stops them within their grace period (hub/lifecycle.py).
_SERVICES = {
    ("process", None): "hub process",
    ("audit", "ingest"): "hub audit ingest",
    ("connector", "run"): "hub connector run",
    ("analytics", "run"): "hub analytics run",
}


def service_name(args: argparse.Namespace) -> str | None:
    """The service a command line starts, or None for a command that runs and returns."""
    sub = getattr(args, f"{args.command}_command", None)
    return _SERVICES.get((args.command, sub))


def _install_thread_excepthook() -> None:
    """A thread that dies because the broker is gone says so in one line, not a traceback
    (the outage line says which broker and since when); anything else keeps its traceback."""
    from hub import lifecycle

    previous = threading.excepthook

    def on_thread_error(args: threading.ExceptHookArgs) -> None:
        from hub.outage import broker_lost  # (confluent_kafka: only once a thread has died)

        exc = args.exc_value
        name = args.thread.name if args.thread else "a thread"
        if exc is not None and broker_lost(exc):
            logging.getLogger("hub").error("%s stopped: the broker is unreachable (%s)", name, exc)
        else:
            previous(args)
        # A service does not run on with a part missing (the audit ingester of
        # `hub process --ingest`): it stops, and its manager restarts it.
        shutdown = lifecycle.current()
        if shutdown is not None and exc is not None:
            shutdown.fail(f"thread {name} died: {type(exc).__name__}: {exc}")

    threading.excepthook = on_thread_error


def _broker_of() -> str:
    return os.environ.get("HUB_BOOTSTRAP_SERVERS", "") or "the broker"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # After parsing: `hub --help` and a usage error need none of these.
    from hub import lifecycle
    from hub.telemetry.logs import configure_logging

    # `kill -USR1 <pid>` prints every thread's stack to stderr: how an operator (or a test)
    # sees where a service that makes no progress is waiting, without stopping it. (Not
    # where stderr is no file, e.g. under pytest's capture.)
    if hasattr(signal, "SIGUSR1"):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            faulthandler.register(signal.SIGUSR1, all_threads=True)
    # The log format is read before the settings (which may themselves be wrong).
    configure_logging(
        logging.INFO if args.verbose else logging.ERROR,
        os.environ.get("HUB_LOG_FORMAT", "text").lower(),
    )
    _install_thread_excepthook()
    service = service_name(args)
    try:
        if service is not None:
            lifecycle.install(service)
            # (the analytics worker is a child process: it watches for itself)
            if os.environ.get("HUB_BOOTSTRAP_SERVERS") and service != "hub analytics run":
                from hub.outage import watch

                watch(os.environ["HUB_BOOTSTRAP_SERVERS"])  # the outage line, promptly
        code: int = args.handler(args)
        shutdown = lifecycle.current()
        if shutdown is not None and shutdown.failed is not None:
            print(f"hub: error: {service} stopped: {shutdown.failed}", file=sys.stderr)
            return 1
        return code
    except HubError as exc:
        print(f"hub: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        # librdkafka's own exceptions (a commit that found no coordinator, a fatal client
        # error) end the command with one line; anything else is a bug and keeps its traceback.
        from hub.outage import broker_lost, failure_line, outage_for

        line = failure_line(exc)
        if line is None:
            raise
        if broker_lost(exc):
            outage_for(_broker_of()).lost(str(exc), service or f"hub {args.command}")
        print(f"hub: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hub: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The analytics worker as ``hub analytics run`` starts it: faust, with a lost broker shown
as one line.

faust installs its own signal handlers and logging, so it runs as a child process of
``hub analytics run`` (hub/cli/analytics.py), which owns SIGTERM and the grace period.
Here, once faust has set up its logging, records that carry a broker-loss exception become
the outage's one line and aiokafka's own warnings move to ``hub.kafka`` (hub/outage.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from typing import Any

import faust

from hub.outage import async_client_loss, name_service, quiet_async_clients, watch

log = logging.getLogger("hub.analytics")


class _QuietWorker(faust.Worker):  # type: ignore[misc]  # faust is untyped
    def on_setup_root_logger(self, logger: Any, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        quiet_async_clients(_bootstrap())


def _bootstrap() -> str:
    argv = sys.argv
    if "--bootstrap" in argv[:-1]:
        return argv[argv.index("--bootstrap") + 1]
    return os.environ.get("HUB_BOOTSTRAP_SERVERS", "the broker")


def _thread_ended(args: threading.ExceptHookArgs) -> None:
    """faust's consumer thread, stopped while aiokafka waits to reconnect, ends with a
    CancelledError: expected at a stop, not a traceback for the operator."""
    exc = args.exc_value
    if isinstance(exc, asyncio.CancelledError) or (exc is not None and async_client_loss(exc)):
        log.debug("analytics worker thread ended: %r", exc)
        return
    threading.__excepthook__(args)


def main(argv: list[str]) -> None:
    from hub.analytics import app

    threading.excepthook = _thread_ended
    name_service("hub analytics run")
    bootstrap = _bootstrap()
    watch(bootstrap)  # the outage line even while faust's own loop is busy reconnecting
    # app.main makes faust.Worker(...): this one adds the filter once faust's logging is up.
    faust.Worker = _QuietWorker  # type: ignore[misc]
    app.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])

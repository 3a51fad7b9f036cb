"""``hub broker``: the embedded broker alone, until Ctrl-C or SIGTERM.

For running the hub's parts one by one on a laptop (``hub sandbox`` starts it for you).
Memory storage only: topics and records are gone when it stops. Its known limits for
partner clients are in docs/operators/running.md.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.broker.embedded import EmbeddedBroker

DEFAULT_PORT = 9092  # Kafka's usual port


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "broker", help="the embedded Kafka-compatible broker on its own (memory storage)"
    )
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)"
    )
    p.add_argument("--log", type=Path, default=None, help="write the broker's own log here")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from hub.broker.embedded import EmbeddedBroker

    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with EmbeddedBroker(port=args.port or None, log_path=args.log) as broker:
            print(
                f"embedded broker listening on {broker.bootstrap} (memory storage); Ctrl-C stops",
                flush=True,
            )
            while not stop.wait(0.5):
                if not _alive(broker):
                    print("hub broker: the broker process exited", flush=True)
                    return 1
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _alive(broker: EmbeddedBroker) -> bool:
    proc = broker._proc  # the broker's child process, polled for liveness
    return proc is not None and proc.poll() is None

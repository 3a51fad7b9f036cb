"""``hub sandbox``: the hub running locally for a partner team to connect its own system.

Starts the embedded broker, the registry (holding every catalogue schema), the topics, the
processor, the audit ingester, a SQLite sink for every recipient and the IG console, each
as the hub command an operator would run; prints where everything is; watches the key
folder and the agreements; Ctrl-C stops everything, leaving nothing running.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "sandbox",
        help="run the whole hub locally (broker, registry, processor, sinks, console) for "
        "connecting your own system; Ctrl-C stops it",
    )
    p.add_argument("--partner", default=None, help="also print this partner's topics and examples")
    p.add_argument(
        "--dir", type=Path, default=None, help="the sandbox's folder (default <data dir>/sandbox)"
    )
    p.add_argument("--broker-port", type=int, default=9092, help="default 9092; 0 = any free")
    p.add_argument("--registry-port", type=int, default=8081, help="default 8081; 0 = any free")
    p.add_argument("--console-port", type=int, default=8400, help="default 8400; 0 = any free")
    p.add_argument("--api-port", type=int, default=8402, help="default 8402; 0 = any free")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from hub.config import load_settings
    from hub.sandbox.guide import banner
    from hub.sandbox.run import Sandbox, SandboxOptions

    settings = load_settings()
    options = SandboxOptions(
        root=args.dir or settings.data_dir / "sandbox",
        broker_port=args.broker_port,
        registry_port=args.registry_port,
        console_port=args.console_port,
        api_port=args.api_port,
        partner=args.partner,
    )
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    def say(line: str) -> None:
        print(line, flush=True)

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    sandbox = Sandbox(settings, options, say)
    try:
        say(f"starting the hub sandbox in {options.root} ...")
        info = sandbox.start()
        say(banner(info))
        if args.partner:
            say("")
            say(sandbox.guide(args.partner))
        say("press Ctrl-C to stop everything")
        if not stop.is_set():
            sandbox.watch(stop)
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("hub sandbox stopped; nothing left running", file=sys.stderr, flush=True)
    return 0

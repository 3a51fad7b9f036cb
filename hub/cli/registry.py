"""``hub registry serve``: the embedded schema registry as a service, until Ctrl-C or SIGTERM.

Partners' Confluent clients and the hub processor talk to it like to Confluent Schema
Registry. State lives in one database (SQLite under the data folder by default), so ids
survive restarts.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

DEFAULT_PORT = 8081  # Confluent Schema Registry's usual port


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "registry", help="the embedded Confluent-compatible schema registry"
    )
    sub = p.add_subparsers(dest="registry_command", required=True)
    serve_p = sub.add_parser("serve", help="serve the schema registry until Ctrl-C")
    serve_p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve_p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)"
    )
    serve_p.add_argument(
        "--db",
        default=None,
        help="SQLAlchemy URL of the registry database (default sqlite:///<data_dir>/registry.db)",
    )
    serve_p.add_argument("--data-dir", type=Path, default=None, help="local state folder")
    serve_p.set_defaults(handler=handle_serve)


def database_url(db: str | None, data_dir: Path | None = None) -> str:
    """The ``--db`` URL, or SQLite in the settings' data folder (created if missing)."""
    if db:
        return db
    from hub.config import load_settings

    folder = load_settings(data_dir=data_dir).data_dir
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / 'registry.db').resolve()}"


def serve(
    host: str, port: int, db_url: str, stop: threading.Event, announce: Callable[[str], None]
) -> int:
    """Serve until ``stop`` is set; 1 if the server thread dies on its own."""
    from hub.registry import RegistryServer, SchemaStore  # FastAPI, SQLAlchemy: only here

    with SchemaStore(db_url) as store, RegistryServer(store, host, port) as server:
        announce(f"schema registry listening on {server.url} (database {db_url}); Ctrl-C stops")
        while not stop.wait(0.5):
            if not server.running:
                return 1
    return 0


def handle_serve(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    # Stop cleanly on both, so the database is closed and the port released.
    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return serve(
            args.host,
            args.port,
            database_url(args.db, args.data_dir),
            stop,
            lambda line: print(line, flush=True),
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

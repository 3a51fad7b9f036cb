"""Run the console: in the foreground (``hub console``) or in a background thread (the
demo), with a demo IG officer account whose password is generated at run time."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

import uvicorn

from hub.audit.setup import AUDIT_SIGNER, audit_key_store
from hub.config import Settings
from hub.console.app import create_app
from hub.console.auth import Role, add_user, random_password
from hub.console.state import ConsoleConfig, ConsoleState
from hub.errors import HubError


def console_config(
    settings: Settings,
    store_url: str,
    bootstrap: str | None = None,
    registry_url: str | None = None,
) -> ConsoleConfig:
    signer = audit_key_store(settings).dev_signing_key(AUDIT_SIGNER)
    return ConsoleConfig(
        settings=settings,
        store_url=store_url,
        bootstrap=bootstrap,
        registry_url=registry_url,
        signer=signer,
    )


@dataclass
class ConsoleHandle:
    url: str
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _state: ConsoleState = field(repr=False)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._state.close()


def _server(config: ConsoleConfig, host: str, port: int = 0) -> tuple[uvicorn.Server, ConsoleState]:
    state = ConsoleState.open(config)
    app = create_app(config, state)
    # No access log: request lines would put filters and ids into logs for no gain.
    return uvicorn.Server(
        uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
    ), state


def start_console(
    settings: Settings,
    store_url: str,
    host: str = "127.0.0.1",
    port: int = 0,
    bootstrap: str | None = None,
    registry_url: str | None = None,
    config: ConsoleConfig | None = None,
) -> ConsoleHandle:
    """Serve the console in a daemon thread; ``port`` 0 picks a free one. Returns its URL."""
    config = config or console_config(settings, store_url, bootstrap, registry_url)
    server, state = _server(config, host)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="hub-console", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise HubError(f"the console did not start on {host}:{bound}")
        time.sleep(0.05)
    shown = f"[{host}]" if ":" in host else host
    return ConsoleHandle(f"http://{shown}:{bound}", server, thread, state)


def serve_forever(config: ConsoleConfig, host: str, port: int) -> None:
    server, state = _server(config, host, port)
    try:
        server.run()
    finally:
        state.close()


def create_demo_officer(store_url: str, name: str = "demo-ig-officer") -> tuple[str, str]:
    """An IG officer account with a password generated now (print it once; it is stored
    only as an argon2 hash). Calling it again gives the account a new password."""
    from sqlalchemy import create_engine

    from hub.audit.migrate import upgrade

    engine = create_engine(store_url)
    try:
        upgrade(engine)
        password = random_password()
        add_user(engine, name, Role.IG_OFFICER, password)
    finally:
        engine.dispose()
    return name, password
